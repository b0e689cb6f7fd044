import GeoFrontCore
import NIOCore
import Synchronization

/// The proxy's shared HTTP cache (RFC 9111): one per process for a `cache` setting, shared by
/// every event loop. It holds the bounded store (``CacheStore``), which URLs vary by which
/// request fields, the fills in progress (request collapsing, ``CacheFill``) and the counts.
/// The rules that decide what is stored and served are in GeoFrontCore (``CacheStorability``,
/// ``Freshness``); the request path uses them through ``CacheLookup`` and the exchange driver.
final class ResponseCache: Sendable {
    let settings: CacheSettings
    let store: CacheStore<StoredResponse>
    let clock: CacheClock
    let metrics: GeoFrontMetrics
    /// Per primary key whose stored response has `Vary`: the field names it varies by.
    private let varyIndex = Mutex<[CacheKey: [String]]>([:])
    private let varyCount = Atomic<Int>(0)
    /// Per primary key: the fill in progress, or until when its responses are known not to be
    /// storable (then requests are not collapsed: each would wait for the one before it only to
    /// go upstream itself; Varnish calls this "hit-for-miss").
    private let fills = Mutex<[CacheKey: FillSlot]>([:])

    private enum FillSlot {
        case filling(CacheFill)
        case uncacheable(until: Int)
    }

    /// How long a URL whose response was not storable is not collapsed (seconds; Varnish's
    /// built-in hit-for-miss lasts as long).
    static let uncacheableSeconds = 120
    /// At most this many URLs are remembered as not storable.
    static let uncacheableLimit = 65_536
    private let hits = Atomic<Int>(0)
    private let misses = Atomic<Int>(0)
    private let stale = Atomic<Int>(0)
    private let revalidated = Atomic<Int>(0)
    private let bypassed = Atomic<Int>(0)

    init(settings: CacheSettings, metrics: GeoFrontMetrics, clock: CacheClock = CacheClock()) {
        self.settings = settings
        self.store = CacheStore(memoryMB: settings.memoryMB, maxObjectKB: settings.maxObjectKB)
        self.clock = clock
        self.metrics = metrics
    }

    /// What a lookup found.
    struct Found {
        /// The key the response is (or would be) stored under, `Vary` applied.
        var key: CacheKey
        var entry: StoredResponse?
        /// Other variants of the URL are stored, not this request's.
        var varyMiss: Bool
    }

    /// Whether some URL's stored response has `Vary` (its lookups go through its variant).
    var hasVaryingURLs: Bool { varyCount.load(ordering: .relaxed) > 0 }

    /// The stored response for the primary key `primary`; `secondary` gives the request's secondary
    /// key for a list of `Vary` names (asked only when the URL's stored response has `Vary`).
    func lookup(_ primary: CacheKey, secondary: ([String]) -> String) -> Found {
        var key = primary
        var varies = false
        if varyCount.load(ordering: .relaxed) > 0, let names = varyIndex.withLock({ $0[primary] }) {
            key = primary.variant(secondary(names))
            varies = true
        }
        let entry = store.lookup(key)
        return Found(key: key, entry: entry, varyMiss: entry == nil && varies)
    }

    /// Stores `entry` for `primary` (its variant for the entry's `Vary`).
    func insert(_ entry: StoredResponse, primary: CacheKey) {
        let names = entry.head.varyNames
        // No URL varies and this response does not: nothing to record (no lock).
        if !names.isEmpty || hasVaryingURLs {
            recordVary(names, primary: primary)
        }
        // A response without `Vary` is stored under the primary key itself, which the hit path
        // looks up directly: when the URL's response now varies, that copy must go.
        if !names.isEmpty { store.remove(primary) }
        let key = names.isEmpty ? primary : primary.variant(entry.secondaryKey)
        if case .stored(let evicted) = store.insert(key, entry), evicted > 0 {
            metrics.cacheEvictions.increment(by: Int64(evicted))
        }
    }

    /// Records that `primary`'s response varies by `names` (none: it no longer varies).
    private func recordVary(_ names: [String], primary: CacheKey) {
        varyIndex.withLock { index in
            if names.isEmpty {
                if index.removeValue(forKey: primary) != nil { varyCount.subtract(1, ordering: .relaxed) }
            } else {
                if index.updateValue(names, forKey: primary) == nil { varyCount.add(1, ordering: .relaxed) }
            }
        }
    }

    /// Replaces a stored entry (a 304's update) under its full key.
    func replace(_ entry: StoredResponse, key: CacheKey) {
        store.insert(key, entry)
    }

    // MARK: - Collapsing

    /// How a miss for `primary` goes upstream.
    enum FillRole {
        /// It leads a new fill; later misses wait on it.
        case leader(CacheFill)
        /// It waits on the fill in progress.
        case follower(CacheFill)
        /// On its own: the URL's response was not storable lately.
        case alone
    }

    /// The fill in progress for `primary`, joined as a follower, or a new one this request leads,
    /// or neither when the URL's response was not storable lately.
    func fill(for primary: CacheKey) -> FillRole {
        let now = clock.now
        return fills.withLock { fills in
            switch fills[primary] {
            case .filling(let existing):
                return .follower(existing)
            case .uncacheable(let until) where until > now:
                return .alone
            case .uncacheable, .none:
                let fill = CacheFill(key: primary)
                fills[primary] = .filling(fill)
                return .leader(fill)
            }
        }
    }

    /// The fill's response was not storable: the URL's misses go upstream on their own for a while.
    func fillNotStorable(_ fill: CacheFill) {
        let now = clock.now
        let until = now + Self.uncacheableSeconds
        fills.withLock { fills in
            guard case .filling(let current) = fills[fill.key], current === fill else { return }
            if fills.count >= Self.uncacheableLimit {
                fills = fills.filter { entry in
                    if case .uncacheable(let until) = entry.value { return until > now }
                    return true
                }
                if fills.count >= Self.uncacheableLimit { return }  // full of fills in progress: not remembered
            }
            fills[fill.key] = .uncacheable(until: until)
        }
    }

    /// Requests waiting on the fill for `url` (in `scope`: the key's service and region part) now.
    func followers(of url: String, scope: String? = nil) -> Int {
        fills.withLock { fills in
            if case .filling(let fill) = fills[CacheKey(url: url, region: scope)] { return fill.followers }
            return 0
        }
    }

    /// The fill is over (stored, released or failed): later requests look the store up again.
    func endFill(_ fill: CacheFill) {
        fills.withLock { fills in
            if case .filling(let current) = fills[fill.key], current === fill { fills[fill.key] = nil }
        }
    }

    // MARK: - Invalidation and purge

    /// Removes every stored response for `url` (all variants and regions). Returns the count.
    @discardableResult
    func invalidate(url: String) -> Int {
        store.purge(url: url)
    }

    @discardableResult
    func purge(prefix: String) -> Int {
        store.purge(urlPrefix: prefix)
    }

    @discardableResult
    func purge(tag: String) -> Int {
        store.purge(tag: tag)
    }

    func removeAll() {
        store.removeAll()
        varyIndex.withLock { index in
            varyCount.subtract(index.count, ordering: .relaxed)
            index.removeAll()
        }
    }

    // MARK: - Counts

    func count(_ result: CacheResult) {
        switch result {
        case .hit: hits.add(1, ordering: .relaxed)
        case .miss: misses.add(1, ordering: .relaxed)
        case .stale: stale.add(1, ordering: .relaxed)
        case .revalidated: revalidated.add(1, ordering: .relaxed)
        case .bypass: bypassed.add(1, ordering: .relaxed)
        }
        metrics.cacheRequests[result.rawValue].increment()
    }

    /// Requests by result since start.
    var results: [CacheResult: Int] {
        [
            .hit: hits.load(ordering: .relaxed), .miss: misses.load(ordering: .relaxed),
            .stale: stale.load(ordering: .relaxed), .revalidated: revalidated.load(ordering: .relaxed),
            .bypass: bypassed.load(ordering: .relaxed),
        ]
    }

    /// Whether a response for a new URL (`primary`) is to be stored (``CacheStore/admits(hash:)``);
    /// a refusal is counted in `geofront_cache_not_admitted_total`.
    func admits(_ primary: CacheKey) -> Bool {
        if store.admits(hash: primary.hash) { return true }
        countNotAdmitted()
        return false
    }

    /// A URL not stored because the store did not admit it (``CacheStore/admits(hash:)``).
    func countNotAdmitted() {
        metrics.cacheNotAdmitted.increment()
    }

    /// `geofront_cache_bytes` and `geofront_cache_entries` now (at scrape time).
    func recordSize() {
        let statistics = store.statistics
        metrics.cacheBytes.record(statistics.bytes)
        metrics.cacheEntries.record(statistics.entries)
    }
}
