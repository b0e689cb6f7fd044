import GeoFrontCore
import GeoIP
import Metrics
import NIOCore

/// What the handlers of one event loop share, confined to that loop so the request path takes
/// no lock: the upstream pool and balancers, cached metric handles, the traffic window and the
/// access log writer.
final class LoopState {
    let eventLoop: any EventLoop
    /// The connections' deadlines (idle, head, body, upstream response).
    let timers: LoopTimers
    /// Upstream connections of the byte-level proxy path (HTTP/1.1 upstreams).
    let bytePool: UpstreamPool<ByteUpstreamHandler>
    /// Streams to `"protocol": "h2"` upstreams, multiplexed over few connections.
    let h2Pool: H2UpstreamPool
    /// Per region of `balancerSnapshot`, its load balancer (both proxy paths share them).
    private var balancers: [UpstreamBalancer] = []
    private var balancerSnapshot: RoutingSnapshot?
    let metrics: GeoFrontMetrics
    let accessLog: AccessLog?
    /// Where a route's rollback is reported (nil in tests that build a loop alone).
    var routeEvents: RouteEvents?
    var traffic = TrafficWindow()
    /// Requests read on this loop since it started, over HTTP/1.x and over HTTP/2 (plain counts,
    /// read by `/status` and brought into `geofront_requests_by_protocol_total` at each scrape).
    var http1Requests = 0
    var h2Requests = 0
    private var requestCounters: [RequestKey: Metrics.Counter] = [:]
    private var upstreamTimerSnapshot: RoutingSnapshot?
    private var upstreamTimerCache: [[Metrics.Timer?]] = []
    /// Redirect counters by region index for the current snapshot (the common case).
    /// The snapshot is held, as the other per-snapshot caches here hold theirs: an identifier alone
    /// could be reused by a later snapshot with other regions.
    private var redirectCounters: (snapshot: RoutingSnapshot?, status: Int, counters: [Metrics.Counter?]) = (
        nil, 0, []
    )
    /// The same for proxied answers, for the status the first one of the snapshot had.
    private var proxyCounters: (snapshot: RoutingSnapshot?, status: Int, counters: [Metrics.Counter?]) = (
        nil, 0, []
    )
    /// The redirects' response bytes for the current snapshot (one copy per loop, not
    /// per connection).
    private var redirectResponsesCache: (snapshot: RoutingSnapshot, responses: RedirectResponses)?
    /// Recent GeoIP answers on this loop (``RoutingSnapshot/decide(client:cache:)``).
    var lookupCache = LookupCache()
    private var proxyNamesCache: (snapshot: RoutingSnapshot, regionNames: [[UInt8]], strip: [[UInt8]])?
    /// Requests since the last decision-time sample.
    private var decisionSampleCountdown = 0
    /// The state of this loop's random numbers (splits by weight, new sticky cookies).
    private var randomState = UInt64.random(in: .min ... .max)
    /// A rewritten path and query, reused between requests.
    var rewrittenPath: [UInt8] = []
    /// A request's cache key bytes (``CacheKeyBytes``), reused between requests.
    var cacheKey: [UInt8] = []
    /// The last upstream `Date` the cache read, with its value (most responses repeat it).
    let dates = HTTPDateMemo()
    /// The process's response cache (nil in tests that build a loop alone).
    var caches: CacheRegistry?
    private var cacheOfSnapshot: (snapshot: RoutingSnapshot, cache: ResponseCache?)?
    /// Upstream connections with a request written and not yet flushed (``flushAtTurnEnd(_:)``).
    private var unflushedUpstreams: [any Channel] = []
    /// This loop's token buckets, rebuilt when the configuration's `rate_limit` changes.
    private var rateLimiter: RateLimiter?
    /// The connection to Redis of `rate_limit.store` (``LoopState+RateLimitStore``).
    var rateLimitStore: RedisRateLimitStore?

    /// Objects kept alive until the loop's turn ends (``keepUntilTurnEnd(_:)``).
    private var keptUntilTurnEnd: [AnyObject] = []
    /// The end-of-turn task (``queueTurnEnd()``) is queued.
    private var turnEndQueued = false

    /// Flushes `channel` once this loop turn has served every connection that was ready, with
    /// the other upstream connections written to in the turn: their requests leave back to back,
    /// so an upstream that is asleep is woken once for them rather than once each (a stream's
    /// request used to go out, and wake it, between two streams' decisions). Not later than the
    /// turn: nothing the loop does afterwards waits on it.
    func flushAtTurnEnd(_ channel: any Channel) {
        unflushedUpstreams.append(channel)
        queueTurnEnd()
    }

    /// Keeps `object` alive until the loop's current turn ends: an HTTP/2 stream's front end,
    /// whose stream can close (and let it go) while one of its own calls is still on the stack.
    func keepUntilTurnEnd(_ object: AnyObject) {
        keptUntilTurnEnd.append(object)
        queueTurnEnd()
    }

    /// One task per loop turn, after every ready connection was served, for both.
    private func queueTurnEnd() {
        guard !turnEndQueued else { return }
        turnEndQueued = true
        eventLoop.assumeIsolated().execute { [self] in
            turnEndQueued = false
            let channels = unflushedUpstreams
            unflushedUpstreams.removeAll(keepingCapacity: true)
            for channel in channels { channel.flush() }
            keptUntilTurnEnd.removeAll(keepingCapacity: true)
        }
    }

    /// `rate_limit` for a request from `client`: nil when it may pass, else the `Retry-After`
    /// seconds of its 429. Buckets are kept per event loop (no lock); a client whose connections
    /// land on several loops gets the rate on each.
    func rateLimited(_ client: IPAddress, settings: RateLimitSettings?) -> Int? {
        guard let settings else { return nil }
        if rateLimiter?.settings != settings {
            rateLimiter = RateLimiter(settings: settings)
            if settings.store == nil { closeRateLimitStore() }
        }
        let verdict = rateLimiter!.allow(client, now: NIODeadline.now().uptimeNanoseconds)
        if verdict.allowed { return nil }
        metrics.rateLimited.increment()
        return verdict.retryAfterSeconds
    }

    /// A uniformly distributed number (SplitMix64: fast, no lock, and good enough to split
    /// traffic and to name cookies nobody can steer, since they only pick a backend).
    @inline(__always)
    func nextRandom() -> UInt64 {
        randomState &+= 0x9e37_79b9_7f4a_7c15
        var z = randomState
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Buckets tracked by this loop (tests, status).
    var trackedClients: Int { rateLimiter?.count ?? 0 }

    /// Whether this request's decision time should be measured: one in 64, so the histogram costs
    /// two clock reads per 64 requests, not per request.
    @inline(__always)
    func sampleDecision() -> Bool {
        if decisionSampleCountdown == 0 {
            decisionSampleCountdown = 63
            return true
        }
        decisionSampleCountdown -= 1
        return false
    }

    /// Per snapshot, as bytes: the region names and the response fields proxying removes (lower case).
    func proxyNames(for snapshot: RoutingSnapshot) -> (regionNames: [[UInt8]], strip: [[UInt8]]) {
        if let cache = proxyNamesCache, cache.snapshot === snapshot { return (cache.regionNames, cache.strip) }
        let names = snapshot.regions.map { Array($0.name.utf8) }
        var strip = snapshot.config.proxy.removedResponseHeaders.map { Array($0.lowercased().utf8) }
        // With a cache, the purge tags are the cache's, not the client's.
        if snapshot.config.cache != nil { strip += [Array("surrogate-key".utf8), Array("cache-tag".utf8)] }
        proxyNamesCache = (snapshot, names, strip)
        return (names, strip)
    }

    /// The response cache for `snapshot` (nil without `cache`), looked up once per snapshot.
    @inline(__always)
    func responseCache(for snapshot: RoutingSnapshot) -> ResponseCache? {
        if let known = cacheOfSnapshot, known.snapshot === snapshot { return known.cache }
        let cache = caches?.cache(for: snapshot.config.cache)
        cacheOfSnapshot = (snapshot, cache)
        return cache
    }

    func redirectResponses(for snapshot: RoutingSnapshot) -> RedirectResponses {
        if let cache = redirectResponsesCache, cache.snapshot === snapshot { return cache.responses }
        let responses = RedirectResponses(snapshot: snapshot)
        redirectResponsesCache = (snapshot, responses)
        return responses
    }

    /// Counts a lookup by outcome: located (record or country centroid), found without a
    /// location, or not in the database.
    @inline(__always)
    func countLookup(_ lookup: RoutingDecision.Lookup) {
        switch lookup {
        case .located, .countryCentroid: metrics.lookupFound.increment()
        case .foundWithoutLocation: metrics.lookupNoCoordinates.increment()
        case .notFound: metrics.lookupNotFound.increment()
        case .skipped: break
        }
    }

    /// Writes the access-log line of an answered request (when there is an access log): the one
    /// place the entry is built, for every front end. The country is looked up here, off the
    /// decision's path, only when a line is written.
    func logAccess(
        client: IPAddress, region: String, mode: RoutingMode, method: String, target: String, status: Int,
        start: NIODeadline, database: GeoIPDatabase, policy: String? = nil, cache: String? = nil, http2: Bool = false
    ) {
        guard let accessLog else { return }
        accessLog.log(
            AccessLog.Entry(
                client: client, country: database.lookup(client)?.country, region: region, mode: mode.rawValue,
                method: method, target: target, status: status,
                durationMicroseconds: Int((NIODeadline.now() - start).nanoseconds / 1000), policy: policy,
                cache: cache, http2: http2))
    }

    /// A 429 for a client over `rate_limit` (it has no region): counted under `region="-"`, and
    /// logged when there is an access log (`logged` is nil without one). Every front end's 429.
    func countTooManyRequests(
        client: IPAddress, mode: RoutingMode, logged: (method: String, target: String)?, start: NIODeadline,
        database: GeoIPDatabase, http2: Bool = false
    ) {
        countRequest(region: "-", mode: mode, status: 429)
        if let logged {
            logAccess(
                client: client, region: "-", mode: mode, method: logged.method, target: logged.target, status: 429,
                start: start, database: database, http2: http2)
        }
    }

    /// Counts a redirect answered for region `index` of `snapshot` without hashing strings.
    func countRedirect(snapshot: RoutingSnapshot, index: Int, status: Int) {
        count(&redirectCounters, snapshot: snapshot, index: index, mode: .redirect, status: status)
    }

    /// Counts a proxied answer of region `index` of `snapshot`: strings are hashed only when the
    /// status differs from the region's last one.
    func countProxied(snapshot: RoutingSnapshot, index: Int, status: Int) {
        count(&proxyCounters, snapshot: snapshot, index: index, mode: .proxy, status: status)
    }

    private func count(
        _ cache: inout (snapshot: RoutingSnapshot?, status: Int, counters: [Metrics.Counter?]),
        snapshot: RoutingSnapshot, index: Int, mode: RoutingMode, status: Int
    ) {
        guard cache.status == status || cache.snapshot !== snapshot else {
            // Another status than the cached one: the general counter (rare for proxies: errors).
            countRequest(region: snapshot.regions[index].name, mode: mode, status: status)
            return
        }
        if cache.snapshot !== snapshot {
            cache = (snapshot, status, Array(repeating: nil, count: snapshot.regions.count))
        }
        if let counter = cache.counters[index] {
            counter.increment()
        } else {
            let counter = metrics.requests(region: snapshot.regions[index].name, mode: mode.rawValue, status: status)
            cache.counters[index] = counter
            counter.increment()
        }
        traffic.count(snapshot.regions[index].name)
    }

    struct RequestKey: Hashable {
        let region: String
        let mode: RoutingMode
        let status: Int
    }

    init(loop: any EventLoop, metrics: GeoFrontMetrics, accessLog: AccessLog?) {
        eventLoop = loop
        timers = LoopTimers(loop: loop)
        bytePool = UpstreamPool(loop: loop)
        h2Pool = H2UpstreamPool(loop: loop)
        self.metrics = metrics
        self.accessLog = accessLog
    }

    /// The upstream TLS contexts of a configuration, for both pools.
    func setUpstreamTLS(_ contexts: UpstreamTLS.Contexts) {
        bytePool.tlsContext = contexts.http1
        h2Pool.tlsContext = contexts.h2
    }

    /// Gives an upstream connection back after an exchange: an HTTP/1.1 connection to its pool
    /// (kept when `reusable`), an HTTP/2 stream closed (a stream carries one exchange; closing
    /// one still open cancels it upstream).
    func releaseUpstream(_ connection: UpstreamConnection<ByteUpstreamHandler>, reusable: Bool, settings: ProxySettings)
    {
        if connection.upstream.httpProtocol == .h2 {
            connection.handler.detach()
            connection.channel.close(promise: nil)
        } else {
            bytePool.release(connection, reusable: reusable, settings: settings)
        }
    }

    /// The balancer of region `index` of `snapshot`. A new snapshot (reload or health change)
    /// keeps each region's balancer whose upstream weights and policy are unchanged.
    func withBalancer<T>(snapshot: RoutingSnapshot, region index: Int, _ body: (inout UpstreamBalancer) -> T) -> T {
        if balancerSnapshot !== snapshot {
            let previous = balancerSnapshot
            let old = balancers
            balancers = snapshot.regions.map { region in
                let weights = region.config.upstreams.map(\.weight)
                if let index = previous?.regions.firstIndex(where: { $0.config.id == region.config.id }),
                    index < old.count,
                    old[index].weights == weights, old[index].policy == region.config.loadBalancing
                {
                    return old[index]
                }
                return UpstreamBalancer(policy: region.config.loadBalancing, weights: weights)
            }
            balancerSnapshot = snapshot
        }
        return body(&balancers[index])
    }

    /// `geofront_spillover_total{from,to}` handles, by region names.
    private var spilloverCounters: [String: Metrics.Counter] = [:]

    /// A request that spilled from one region (at its capacity) to another.
    func countSpillover(snapshot: RoutingSnapshot, from: Int, to: Int) {
        let key = snapshot.regions[from].name + ">" + snapshot.regions[to].name
        if let counter = spilloverCounters[key] {
            counter.increment()
            return
        }
        let counter = metrics.spillover(from: snapshot.regions[from].name, to: snapshot.regions[to].name)
        spilloverCounters[key] = counter
        counter.increment()
    }

    /// Counts an answered request (metrics and the per-minute traffic window).
    func countRequest(region: String, mode: RoutingMode, status: Int) {
        let key = RequestKey(region: region, mode: mode, status: status)
        if let counter = requestCounters[key] {
            counter.increment()
        } else {
            let counter = metrics.requests(region: region, mode: mode.rawValue, status: status)
            requestCounters[key] = counter
            counter.increment()
        }
        traffic.count(region)
    }

    /// The response-time timer of upstream `upstream` of region `region` in `snapshot`, cached
    /// per snapshot by index (no string building per request).
    func upstreamTimer(snapshot: RoutingSnapshot, region: Int, upstream: Int) -> Metrics.Timer {
        if upstreamTimerSnapshot !== snapshot {
            upstreamTimerSnapshot = snapshot
            upstreamTimerCache = snapshot.regions.map { Array(repeating: nil, count: $0.config.upstreams.count) }
        }
        if let timer = upstreamTimerCache[region][upstream] { return timer }
        // The registry hands back the same histogram for the same labels after a reload.
        let entry = snapshot.regions[region]
        let timer = metrics.upstreamResponse(region: entry.name, upstream: entry.config.upstreams[upstream].description)
        upstreamTimerCache[region][upstream] = timer
        return timer
    }
}

/// Requests per region in each of the last 60 seconds (a ring of one-second buckets).
///
/// Consecutive requests mostly go to one region: a run of them in one second is counted in
/// ``pending`` and added to its bucket once, when another region or second comes (or the window
/// is read), so a request costs a string comparison, not a dictionary update and its hashing.
struct TrafficWindow {
    private var buckets: [[String: Int]] = Array(repeating: [:], count: 60)
    private var bucketSecond: [Int] = Array(repeating: -1, count: 60)
    private var pendingRegion = ""
    private var pendingSecond = -1
    private var pending = 0

    mutating func count(_ region: String) {
        let second = DispatchTimeSeconds.now
        if second == pendingSecond && region == pendingRegion {
            pending += 1
            return
        }
        addPending()
        pendingRegion = region
        pendingSecond = second
        pending = 1
    }

    mutating func lastMinute() -> [String: Int] {
        addPending()
        let now = DispatchTimeSeconds.now
        var total: [String: Int] = [:]
        for slot in 0..<60 where bucketSecond[slot] > now - 60 {
            total.merge(buckets[slot], uniquingKeysWith: +)
        }
        return total
    }

    private mutating func addPending() {
        guard pending > 0 else { return }
        let slot = pendingSecond % 60
        if bucketSecond[slot] != pendingSecond {
            bucketSecond[slot] = pendingSecond
            buckets[slot] = [:]
        }
        buckets[slot][pendingRegion, default: 0] += pending
        pending = 0
    }
}

/// Whole seconds of a monotonic clock.
enum DispatchTimeSeconds {
    static var now: Int { Int(NIODeadline.now().uptimeNanoseconds / 1_000_000_000) }
}
