import Synchronization

/// The cache's bounded in-memory store: thread-safe, with a hard bound on the accounted bytes.
///
/// `memoryBytes` bounds the sum of every entry's ``CacheStorable/accountedBytes(key:)`` (for ``CacheEntry``:
/// body, header lines, tags, validators, key bytes and a fixed overhead per entry); an insert evicts until
/// the new entry fits, so the bound holds after every operation. Entries above `maxObjectBytes` (or the
/// whole bound) are refused and the caller streams them uncached.
///
/// Eviction is S3-FIFO (Yang et al., SOSP 2023): new entries enter a small FIFO (~10 % of the bytes);
/// those hit at least once while there move to the main FIFO, the others leave and their hash goes to
/// a ghost FIFO (at most as many hashes as there are entries, 64 at least), and an entry whose hash is
/// still in the ghost enters main directly. Main is a FIFO with a 2-bit hit counter that gives an entry
/// another lap (counter minus one) instead of evicting it.
/// Unlike LRU, a hit only bumps a counter (no list surgery under the lock) and a scan of one-hit objects
/// is filtered out by the small queue instead of flushing the hot set. It matches W-TinyLFU's hit ratio
/// on web traces without a count-min sketch, its periodic ageing, or a second LRU to keep in order.
///
/// Admission (``admits(hash:)``): while the store has room, every storable response is taken in. Once it
/// is nearly full (within a tenth of `memoryBytes`), a URL not seen lately is taken in only at its
/// second request, as W-TinyLFU's doorkeeper does (or nginx's `proxy_cache_min_uses 2`): the first one
/// only marks its hash in the doorkeeper (``CacheDoorkeeper``). Most URLs
/// asked for once are never asked for again (S3-FIFO's small queue exists to drop them); not storing
/// them at all spares the entries they would evict, and their miss the cost of storing.
public final class CacheStore<Entry: CacheStorable>: Sendable {
    /// What an insert did.
    public enum InsertResult: Sendable, Equatable {
        /// Stored, after evicting this many entries.
        case stored(evicted: Int)
        /// Refused: larger than `max_object_kb` (or than the whole store).
        case tooLarge
    }

    public struct Statistics: Sendable, Equatable {
        public var bytes: Int
        public var entries: Int
        public var hits: Int
        public var misses: Int
        public var evictions: Int
        /// New URLs not stored because the store was nearly full (``admits(hash:)``).
        public var notAdmitted: Int
        public var capacityBytes: Int
    }

    public let memoryBytes: Int
    public let maxObjectBytes: Int
    private let state: Mutex<State<Entry>>

    /// `memoryMB` is `memory_mb` (the hard bound), `maxObjectKB` is `max_object_kb`.
    public convenience init(memoryMB: Int, maxObjectKB: Int) {
        self.init(memoryBytes: memoryMB * 1024 * 1024, maxObjectBytes: maxObjectKB * 1024)
    }

    public init(memoryBytes: Int, maxObjectBytes: Int) {
        self.memoryBytes = max(0, memoryBytes)
        self.maxObjectBytes = max(0, maxObjectBytes)
        state = Mutex(State(capacity: self.memoryBytes))
    }

    /// The entry under `key`, counting a hit (and the entry's frequency) or a miss.
    public func lookup(_ key: CacheKey) -> Entry? {
        state.withLock { $0.lookup(key) }
    }

    /// The entry whose key has exactly these `bytes` (``CacheKey/bytes``) and `hash` (their keyed hash),
    /// counting a hit or a miss, as ``lookup(_:)`` does; for the hit path: no key is built. When
    /// nothing is stored under the key and `admitting`, also ``admits(hash:)``, in the same turn of
    /// the lock (the probe of a request whose response may be stored: one lock, and the
    /// doorkeeper's word read beside the index's).
    public func lookup(hash: UInt64, bytes: UnsafeRawBufferPointer, admitting: Bool) -> (entry: Entry?, admitted: Bool)
    {
        state.withLock { state in
            if let entry = state.lookup(hash: hash, bytes: bytes) { return (entry, true) }
            return (nil, admitting ? state.admits(hash) : true)
        }
    }

    /// Whether a response for a URL whose primary key hashes to `hash`, not stored yet, is to be stored:
    /// always while the store has room; once it is nearly full, only if the URL was asked for lately
    /// (its hash is in the doorkeeper, which this call otherwise marks).
    public func admits(hash: UInt64) -> Bool {
        state.withLock { $0.admits(hash) }
    }

    /// Whether `key` is stored, without counting a hit or a miss.
    public func contains(_ key: CacheKey) -> Bool {
        state.withLock { $0.find(key) != nil }
    }

    /// Stores `entry` under `key`, replacing what was there, evicting until it fits.
    @discardableResult
    public func insert(_ key: CacheKey, _ entry: Entry) -> InsertResult {
        let size = entry.accountedBytes(key: key)  // outside the lock
        guard entry.bodyBytes <= maxObjectBytes, size <= memoryBytes else {
            state.withLock { _ = $0.remove(key) }  // a stale smaller version must not linger
            return .tooLarge
        }
        return state.withLock { .stored(evicted: $0.insert(key, entry, size: size)) }
    }

    /// Removes the entry under `key`; whether there was one.
    @discardableResult
    public func remove(_ key: CacheKey) -> Bool {
        state.withLock { $0.remove(key) }
    }

    /// Removes every entry for this normalised URL: all `Vary` variants and regions. Returns the count.
    @discardableResult
    public func purge(url: String) -> Int {
        state.withLock { state in
            let plain = state.remove(CacheKey(url: url)) ? 1 : 0
            guard let keys = state.byURL[url] else { return plain }
            return keys.reduce(plain) { $0 + (state.remove($1) ? 1 : 0) }
        }
    }

    /// Removes every entry whose normalised URL starts with `prefix` (scans the URLs). Returns the count.
    @discardableResult
    public func purge(urlPrefix prefix: String) -> Int {
        state.withLock { state in
            let prefix = Array(prefix.utf8)
            let keys = state.keys.filter { $0.urlHasPrefix(prefix) }
            return keys.reduce(0) { $0 + (state.remove($1) ? 1 : 0) }
        }
    }

    /// Removes every entry stored with `tag`. Returns the count.
    @discardableResult
    public func purge(tag: String) -> Int {
        state.withLock { state in
            guard let keys = state.byTag[tag] else { return 0 }
            return keys.reduce(0) { $0 + (state.remove($1) ? 1 : 0) }
        }
    }

    /// Empties the store (the ghost queue and the doorkeeper too); the hit, miss, eviction and
    /// admission counters stay.
    public func removeAll() {
        state.withLock { $0.removeAll() }
    }

    /// Tokens in the two queues, stale ones included (tests: they stay within a small multiple
    /// of the entries).
    var queuedTokens: Int { state.withLock { $0.small.count + $0.main.count } }

    public var statistics: Statistics {
        state.withLock {
            Statistics(
                bytes: $0.bytes, entries: $0.entries, hits: $0.hits, misses: $0.misses,
                evictions: $0.evictions, notAdmitted: $0.notAdmitted, capacityBytes: memoryBytes)
        }
    }
}

// MARK: - State

/// Nodes live in one array (a free list reuses them); one open-addressed index finds them by key
/// hash (``CacheIndex``); the two FIFOs are rings of node tokens (``CacheQueue``), so a hit only
/// bumps a counter and an insert or eviction touches a handful of cache lines, not linked-list
/// neighbours and three hash tables.
private struct State<Entry: CacheStorable>: ~Copyable {
    enum Queue { case small, main }

    struct Node {
        /// Nil while the node is free.
        var key: CacheKey?
        var entry: Entry?
        var size = 0
        /// Moves on each time the node is freed: older tokens for it in a queue are stale.
        var generation: UInt32 = 0
        var frequency: UInt8 = 0  // 0...3
        var queue = Queue.small
    }

    let capacity: Int
    var nodes: [Node] = []
    var free: [Int] = []
    var index = CacheIndex()
    /// Keys with a region or a `Vary` secondary key, by URL (a plain key is found from its URL).
    var byURL: [String: Set<CacheKey>] = [:]
    var byTag: [String: Set<CacheKey>] = [:]
    var small = CacheQueue()
    var main = CacheQueue()
    var smallBytes = 0
    var smallEntries = 0
    var ghost = CacheGhost()
    /// The URLs asked for while the store was nearly full (admission).
    var doorkeeper = CacheDoorkeeper()
    var entries = 0
    var bytes = 0
    var hits = 0
    var misses = 0
    var evictions = 0
    var notAdmitted = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    var smallTarget: Int { capacity / 10 }

    func find(hash: UInt64, bytes: UnsafeRawBufferPointer) -> Int? {
        index.find(hash) { node in
            guard let key = nodes[node].key, key.hash == hash else { return false }
            return key.bytes.withUnsafeBytes { $0.elementsEqual(bytes) }
        }
    }

    func find(_ key: CacheKey) -> Int? {
        key.bytes.withUnsafeBytes { find(hash: key.hash, bytes: $0) }
    }

    mutating func lookup(_ key: CacheKey) -> Entry? {
        key.bytes.withUnsafeBytes { lookup(hash: key.hash, bytes: $0) }
    }

    mutating func lookup(hash: UInt64, bytes: UnsafeRawBufferPointer) -> Entry? {
        guard let node = find(hash: hash, bytes: bytes) else {
            misses += 1
            return nil
        }
        hits += 1
        if nodes[node].frequency < 3 { nodes[node].frequency += 1 }
        return nodes[node].entry
    }

    mutating func admits(_ hash: UInt64) -> Bool {
        guard bytes > capacity - capacity / 10 else { return true }
        if doorkeeper.seen(hash, window: entries) { return true }
        notAdmitted += 1
        return false
    }

    /// Returns the number of entries evicted to make room.
    mutating func insert(_ key: CacheKey, _ entry: Entry, size: Int) -> Int {
        remove(key)
        var evicted = 0
        while bytes + size > capacity, entries > 0 {
            if evictOne() { evicted += 1 }
        }
        evictions += evicted
        let queue: Queue = ghost.remove(key.hash) ? .main : .small
        let node: Int
        if let reused = free.popLast() {
            node = reused
        } else {
            node = nodes.count
            nodes.append(Node())
        }
        nodes[node].key = key
        nodes[node].entry = entry
        nodes[node].size = size
        nodes[node].frequency = 0
        push(node, to: queue)
        index.insert(key.hash, node: node)
        if !key.isPlain { byURL[key.url, default: []].insert(key) }
        for tag in entry.tags { byTag[tag, default: []].insert(key) }
        entries += 1
        bytes += size
        ghost.limit = max(64, entries)
        return evicted
    }

    /// One S3-FIFO step: evicts from small when it is over its share (or main is empty), else from
    /// main. Returns whether an entry left the store (a step may only move or re-queue one).
    mutating func evictOne() -> Bool {
        if smallEntries > 0 && (smallBytes > smallTarget || smallEntries == entries) {
            let node = popLive(.small)
            smallBytes -= nodes[node].size
            smallEntries -= 1
            if nodes[node].frequency > 0 {
                nodes[node].frequency = 0
                push(node, to: .main)
                return false
            }
            ghost.insert(nodes[node].key!.hash)
            drop(node)
            return true
        }
        let node = popLive(.main)
        if nodes[node].frequency > 0 {
            nodes[node].frequency -= 1
            main.push(CacheQueue.token(node: node, generation: nodes[node].generation))
            return false
        }
        drop(node)
        return true
    }

    @discardableResult
    mutating func remove(_ key: CacheKey) -> Bool {
        guard let node = find(key) else { return false }
        if nodes[node].queue == .small {
            smallBytes -= nodes[node].size
            smallEntries -= 1
        }
        drop(node)
        compactIfStale()
        return true
    }

    mutating func removeAll() {
        nodes = []
        free = []
        index.removeAll()
        byURL = [:]
        byTag = [:]
        small.removeAll()
        main.removeAll()
        smallBytes = 0
        smallEntries = 0
        ghost.removeAll()
        doorkeeper.removeAll()
        entries = 0
        bytes = 0
    }

    /// The live keys (purges by prefix).
    var keys: [CacheKey] { nodes.compactMap(\.key) }

    private mutating func push(_ node: Int, to queue: Queue) {
        nodes[node].queue = queue
        let token = CacheQueue.token(node: node, generation: nodes[node].generation)
        if queue == .small {
            small.push(token)
            smallBytes += nodes[node].size
            smallEntries += 1
        } else {
            main.push(token)
        }
    }

    /// The oldest node still in `queue` (stale tokens skipped); the caller knows there is one.
    private mutating func popLive(_ queue: Queue) -> Int {
        while true {
            let token = (queue == .small ? small.pop() : main.pop())!
            let node = CacheQueue.node(token)
            if nodes[node].key != nil, nodes[node].generation == CacheQueue.generation(token),
                nodes[node].queue == queue
            {
                return node
            }
        }
    }

    /// Forgets a node that left its queue's accounting: the index entries, the bytes, the slot.
    private mutating func drop(_ node: Int) {
        let key = nodes[node].key!
        index.remove(key.hash, node: node)
        if !key.isPlain, byURL[key.url]?.remove(key) != nil, byURL[key.url]!.isEmpty {
            byURL[key.url] = nil
        }
        if let tags = nodes[node].entry?.tags {
            for tag in tags where byTag[tag]?.remove(key) != nil {
                if byTag[tag]!.isEmpty { byTag[tag] = nil }
            }
        }
        entries -= 1
        bytes -= nodes[node].size
        nodes[node].key = nil
        nodes[node].entry = nil
        nodes[node].generation &+= 1
        free.append(node)
    }

    /// Stale tokens (entries removed other than by eviction) are dropped from the queues once
    /// they outnumber the live ones, so the rings stay within a small multiple of the entries.
    private mutating func compactIfStale() {
        let live = { [nodes] (queue: Queue, token: UInt64) -> Bool in
            let node = CacheQueue.node(token)
            return nodes[node].key != nil && nodes[node].generation == CacheQueue.generation(token)
                && nodes[node].queue == queue
        }
        if small.count > 2 * smallEntries + 1024 { small.compact { live(.small, $0) } }
        if main.count > 2 * (entries - smallEntries) + 1024 { main.compact { live(.main, $0) } }
    }
}
