import GeoFrontCore
import NIOCore

/// Where the cache meets a proxied request, before anything goes upstream: the stored response
/// answers it (a hit, a 304 to its conditional, a range of it), or the request goes upstream with
/// what the cache must do with the answer (``CacheForward``), or it waits for a fill already in
/// progress for the same URL (collapsing).
enum CacheLookup {
    /// An answer from the cache: head (with a short body behind it), a long body, its status.
    struct Answer {
        var head: ByteBuffer
        var body: ByteBuffer?
        var status: Int
        var result: CacheResult
    }

    enum Plan {
        case answer(Answer)
        /// Go upstream.
        case forward(CacheForward)
        /// Wait for `fill`; if it is released, go upstream with `forward`.
        case follow(CacheFill, CacheForward)
    }

    /// What the answer needs beyond the stored response (``CachedAnswers/Extras`` less the status).
    struct Context {
        var secure: Bool
        var region: String?
        var regionName: [UInt8]
        var close: Bool
        var http10: Bool
        var edits: HeaderEditBytes?
        var cookies: [UInt8]?
        var allocator: ByteBufferAllocator
    }

    static func plan(
        _ cache: ResponseCache, settings: CacheSettings, bytes: UnsafeRawBufferPointer, head: RequestHead,
        context: Context
    ) -> Plan {
        let route = RouteRequest(head: head, bytes: bytes)
        let request = CacheRequest(bytes, head: head, route: route, secure: context.secure, query: settings.query)
        let primary = CacheKey(url: request.url, region: settings.includeRegion ? context.region : nil)
        let now = cache.clock.now
        var forward = CacheForward(
            cache: cache, settings: settings, request: request, primary: primary,
            status: CacheStatus(forward: .uriMiss),
            requestTime: now, mayStore: false)
        switch request.method {
        case .safe, .unsafe:
            forward.status = CacheStatus(forward: .method)
            return .forward(forward)
        case .get, .head:
            break
        }
        let found = cache.lookup(primary) { CacheRequest.secondaryKey(bytes, route: route, varyNames: $0) }
        if let entry = found.entry {
            let age = entry.currentAge(now: now)
            let verdict = Freshness.verdict(
                request: request.cacheControl, response: entry.head.headers.cacheControl, lifetime: entry.lifetime,
                currentAge: age, defaultStaleWhileRevalidate: settings.staleWhileRevalidateSeconds)
            switch verdict {
            case .fresh, .staleAllowed:
                let ttl = entry.lifetime - age
                let status = CacheStatus(hit: true, ttl: ttl)
                return .answer(
                    answer(
                        entry, request: request, status: status, age: age, result: verdict == .fresh ? .hit : .stale,
                        context: context))
            case .staleWhileRevalidate, .revalidate:
                let reason: CacheStatus.Forward
                if case .revalidate(let why) = verdict,
                    why == .requestNoCache || why == .requestMaxAge || why == .requestMinFresh
                {
                    reason = .request
                } else {
                    reason = .stale
                }
                forward.status = CacheStatus(forward: reason)
                forward.stored = (entry, found.key)
                forward.conditional = entry.head.etag != nil || entry.head.lastModified != nil
                forward.mayStore = request.method == .get && !request.cacheControl.noStore
                if forward.mayStore { forward.requestFields = fields(bytes, route: route) }
                return .forward(forward)
            case .unsatisfiable:
                return .answer(
                    Answer(
                        head: CachedAnswers.gatewayTimeout(
                            status: CacheStatus(forward: .request), region: context.regionName, close: context.close,
                            allocator: context.allocator), body: nil, status: 504, result: .miss))
            }
        }
        forward.status = CacheStatus(forward: found.varyMiss ? .varyMiss : .uriMiss)
        if request.cacheControl.onlyIfCached {
            return .answer(
                Answer(
                    head: CachedAnswers.gatewayTimeout(
                        status: forward.status, region: context.regionName, close: context.close,
                        allocator: context.allocator), body: nil, status: 504, result: .miss))
        }
        forward.mayStore =
            request.method == .get && !request.cacheControl.noStore && !request.isConditionalOrPartial
            && !request.hasBody
        guard forward.mayStore else { return .forward(forward) }
        forward.requestFields = fields(bytes, route: route)
        let (fill, leader) = cache.fill(for: primary)
        if leader {
            forward.fill = fill
            return .forward(forward)
        }
        return .follow(fill, forward)
    }

    /// An answer from `entry` for `request`: 304 to a conditional request it satisfies, 206 or 416
    /// to a range, else the whole response (its head alone for HEAD).
    static func answer(
        _ entry: StoredResponse, request: CacheRequest, status: CacheStatus, age: Int, result: CacheResult,
        context: Context
    ) -> Answer {
        let kind = CacheAnswerKind.choose(entry, request: request)
        let extras = CachedAnswers.Extras(
            age: age, status: status, region: context.regionName, close: context.close, http10: context.http10,
            edits: context.edits, cookies: context.cookies)
        let out = CachedAnswers.write(entry, kind, extras, allocator: context.allocator)
        let code: Int
        switch kind {
        case .full: code = entry.head.status
        case .notModified: code = 304
        case .partial: code = 206
        case .rangeNotSatisfiable: code = 416
        }
        return Answer(head: out.head, body: out.body, status: code, result: result)
    }

    /// The request's field lines as text.
    static func fields(_ bytes: UnsafeRawBufferPointer, route: RouteRequest) -> [(name: String, value: String)] {
        var lines: [(name: String, value: String)] = []
        RouteRequest.forEachField(in: bytes, fields: route.fields) { name, value in
            lines.append((CacheRequest.text(bytes, name), CacheRequest.text(bytes, value)))
            return true
        }
        return lines
    }
}
