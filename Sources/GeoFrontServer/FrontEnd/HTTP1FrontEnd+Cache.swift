import GeoFrontCore
import GeoIP
import NIOCore

/// Where the front end meets the response cache (``CacheLookup``): an answer the cache made,
/// what such an answer carries for this request, and a request collapsed into another's fill
/// (``CacheFollower``) that may still go upstream itself.
extension HTTP1FrontEnd {
    /// The cache and its settings for a request `decision` sends to a proxy region; nil without a
    /// cache, or when its route or service turns it off.
    private func cacheSettings(_ snapshot: RoutingSnapshot, _ decision: RoutingDecision)
        -> (cache: ResponseCache, settings: CacheSettings)?
    {
        guard let cache = loop.responseCache(for: snapshot),
            let settings = snapshot.cachePlan.settings(route: decision.route, backend: decision.backend?.backend ?? 0)
        else { return nil }
        return (cache, settings)
    }

    /// The cache's turn for a proxied request (``CacheLookup/plan``): answered here (a hit, a stale
    /// answer with its background refresh, a 304, 504), collapsed into another request's fill, or
    /// `forward`, what the exchange that goes upstream does for the cache.
    func cacheTurn(
        _ bytes: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, _ decision: RoutingDecision,
        _ snapshot: RoutingSnapshot, _ affinityCookie: [UInt8]?, close: Bool,
        logged: (method: String, target: String)?, start: NIODeadline, _ allocator: ByteBufferAllocator
    ) -> (answered: Bool, forward: CacheForward?) {
        guard let (cache, settings) = cacheSettings(snapshot, decision) else { return (false, nil) }
        let context = cacheContext(snapshot, decision, settings, affinityCookie, close: close, allocator)
        switch CacheLookup.plan(
            cache, settings: settings, bytes: bytes, head: head, context: context, scratch: &loop.cacheKey)
        {
        case .answer(let cached):
            answer(cached, cache, snapshot, decision, logged: logged, start: start, close: close)
            return (true, nil)
        case .answerAndRefresh(let cached, let refresh):
            if let refresh {
                let copy = allocator.buffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<head.length]))
                let routedPath = withRoutedPath(path, decision, snapshot) { Array($0) }
                CacheRefresh.start(
                    from: self, forward: refresh, head: head, bytes: copy, path: routedPath, decision: decision,
                    snapshot: snapshot)
            }
            answer(cached, cache, snapshot, decision, logged: logged, start: start, close: close)
            return (true, nil)
        case .forward(let plan):
            return (false, plan)
        case .follow(let fill, let plan):
            follow(
                fill, plan, context: context, bytes, path: path, decision: decision, snapshot: snapshot, close: close,
                logged: logged, start: start, affinityCookie: affinityCookie)
            return (true, nil)
        }
    }

    /// Every region is down: a stored response may still answer (fresh, or stale within
    /// `stale-if-error`). True when it did.
    func answeredFromCacheWhenUnavailable(
        _ bytes: UnsafeRawBufferPointer, _ decision: RoutingDecision, _ snapshot: RoutingSnapshot,
        _ affinityCookie: [UInt8]?, close: Bool, logged: (method: String, target: String)?, start: NIODeadline,
        _ allocator: ByteBufferAllocator
    ) -> Bool {
        guard let (cache, settings) = cacheSettings(snapshot, decision) else { return false }
        let context = cacheContext(snapshot, decision, settings, affinityCookie, close: close, allocator)
        guard
            let cached = CacheLookup.whenUnavailable(
                cache, settings: settings, bytes: bytes, head: head, context: context, scratch: &loop.cacheKey)
        else { return false }
        answer(cached, cache, snapshot, decision, logged: logged, start: start, close: close)
        return true
    }

    /// An answer the cache made here (a hit, a stale answer, a 304, 504…): counted, logged, written.
    private func answer(
        _ cached: CacheLookup.Answer, _ cache: ResponseCache, _ snapshot: RoutingSnapshot, _ decision: RoutingDecision,
        logged: (method: String, target: String)?, start: NIODeadline, close: Bool
    ) {
        cache.count(cached.result)
        loop.countProxied(snapshot: snapshot, index: decision.regionIndex, status: cached.status)
        log(
            logged, client: decision.client, region: snapshot.regions[decision.regionIndex].name, mode: .proxy,
            status: cached.status, start: start, policy: decision.policy, cache: cached.result)
        if let body = cached.body {
            write(cached.head)
            answer(body, close: close)
        } else {
            answer(cached.head, close: close)
        }
    }

    /// What an answer from the cache carries for this request: its key's scope, its region, its
    /// connection's `Connection`, its route's response edits and cookies.
    private func cacheContext(
        _ snapshot: RoutingSnapshot, _ decision: RoutingDecision, _ settings: CacheSettings,
        _ affinityCookie: [UInt8]?, close: Bool, _ allocator: ByteBufferAllocator
    ) -> CacheLookup.Context {
        let actions = decision.route.map { snapshot.routeActions[$0] }
        var cookies: [UInt8]?
        if let line = decision.backend?.newCookie.flatMap({ actions?.setCookieLine($0) }) { cookies = line }
        if let affinityCookie { cookies = (cookies ?? []) + affinityCookie }
        let regionName = loop.proxyNames(for: snapshot).regionNames[decision.regionIndex]
        // The key's scope: the backend service a route chose, the region with include_region.
        var scope: String?
        var scopeBytes: [UInt8]?
        let service = decision.route == nil ? nil : snapshot.services[decision.service].name
        if let service {
            scope = settings.includeRegion ? service + "/" + snapshot.regions[decision.regionIndex].name : service
            scopeBytes = Array(scope!.utf8)
        } else if settings.includeRegion {
            scope = snapshot.regions[decision.regionIndex].name
            scopeBytes = regionName
        }
        return CacheLookup.Context(
            secure: secure, keyScope: scope, keyScopeBytes: scopeBytes, regionName: regionName, close: close,
            http10: head.version == .http10, edits: actions?.responseHeaders, cookies: cookies, allocator: allocator)
    }

    /// Waits on another request's fill of the cache for the same URL (collapsing). The request is
    /// copied (it has no body) so that it can still go upstream itself if the fill is released.
    private func follow(
        _ fill: CacheFill, _ forward: CacheForward, context: CacheLookup.Context, _ bytes: UnsafeRawBufferPointer,
        path: UnsafeRawBufferPointer, decision: RoutingDecision, snapshot: RoutingSnapshot, close: Bool,
        logged: (method: String, target: String)?, start: NIODeadline, affinityCookie: [UInt8]?
    ) {
        guard let allocator, let eventLoop else { return }
        let savedHead = head
        let savedBytes = allocator.buffer(
            bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<head.length]))
        let savedPath = withRoutedPath(path, decision, snapshot) { Array($0) }
        let extras = CachedAnswers.Extras(
            age: 0, status: forward.status, region: context.regionName, close: close, http10: context.http10,
            edits: context.edits, cookies: context.cookies)
        let region = snapshot.regions[decision.regionIndex].name
        let follower = CacheFollower(
            frontEnd: self, fill: fill, forward: forward, extras: extras,
            goUpstream: { [unowned self] forward in
                self.goUpstream(
                    forward, head: savedHead, bytes: savedBytes, path: savedPath, decision: decision,
                    snapshot: snapshot, close: close, logged: logged.map { (start, $0.method, $0.target) },
                    affinityCookie: affinityCookie)
            },
            answered: { [unowned self] status in
                forward.cache.count(.miss)
                self.loop.countProxied(snapshot: snapshot, index: decision.regionIndex, status: status)
                self.log(
                    logged, client: decision.client, region: region, mode: .proxy, status: status, start: start,
                    policy: decision.policy, cache: .miss)
            })
        phase = .following(follower)
        disarm()
        follower.begin(on: eventLoop)
    }

    /// A collapsed request goes upstream after all (the fill it waited on was released).
    private func goUpstream(
        _ forward: CacheForward, head: RequestHead, bytes: ByteBuffer, path: [UInt8], decision: RoutingDecision,
        snapshot: RoutingSnapshot, close: Bool, logged: (start: NIODeadline, method: String, target: String)?,
        affinityCookie: [UInt8]?
    ) {
        guard case .following = phase, let allocator else { return }
        if driver == nil { driver = ProxyExchangeDriver(frontEnd: self) }
        phase = .exchange
        let driver = driver!
        bytes.withUnsafeReadableBytes { raw in
            path.withUnsafeBytes { path in
                driver.start(
                    head: head, raw, path: path, decision: decision, snapshot: snapshot, close: close, logged: logged,
                    affinityCookie: affinityCookie, cache: forward, allocator: allocator)
            }
        }
        driver.clientReadComplete()
        flushIfNeeded()
    }
}
