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
        /// Answered from a stale response (`stale-while-revalidate`); refresh it in the background
        /// with `forward` when it is given (once per URL: another refresh may be under way).
        case answerAndRefresh(Answer, CacheForward?)
    }

    /// What the answer needs beyond the stored response (``CachedAnswers/Extras`` less the status).
    struct Context {
        var secure: Bool
        /// What the key is scoped to besides the URL (its "region" part): the route's backend
        /// service when a route took the request (a canary's two versions are never mixed), and
        /// the region with `key.include_region`; nil: the URL alone.
        var keyScope: String?
        /// ``keyScope`` as bytes, for the hit path.
        var keyScopeBytes: [UInt8]?
        var regionName: [UInt8]
        var close: Bool
        var http10: Bool
        var edits: HeaderEditBytes?
        var cookies: [UInt8]?
        var allocator: ByteBufferAllocator
    }

    static func plan(
        _ cache: ResponseCache, settings: CacheSettings, bytes: UnsafeRawBufferPointer, head: RequestHead,
        context: Context, scratch: inout [UInt8]
    ) -> Plan {
        let route = RouteRequest(head: head, bytes: bytes)
        let (hit, keyWritten, probe) = freshHit(
            cache, settings: settings, bytes, head: head, route: route, context, &scratch)
        if let hit { return .answer(hit) }
        // The hit path's scan found none of the fields the rules read: no second scan.
        let request =
            (probe.plain ? CacheRequest(plain: bytes, head: head, secure: context.secure, query: settings.query) : nil)
            ?? CacheRequest(bytes, head: head, route: route, secure: context.secure, query: settings.query)
        let primary = primaryKey(
            bytes, route: route, settings: settings, context: context, written: keyWritten, scratch,
            hash: probe.hash)
        let now = cache.clock.now
        // The request moves into the forward; it is read there from here on (a local kept beside it
        // would be a copy, each of its strings retained and released).
        let forward = CacheForward(
            cache: cache, settings: settings, request: request, primary: primary,
            status: CacheStatus(forward: .uriMiss),
            requestTime: now, mayStore: false)
        if case .probed(nil, _, false?) = probe {
            // Not stored, and a nearly full store did not take the URL in (the probe asked): it goes
            // upstream uncollapsed, as a pass would.
            cache.countNotAdmitted()
            forward.status.detail = "not-admitted"
            return .forward(forward)
        }
        switch forward.request.method {
        case .safe, .unsafe:
            forward.status = CacheStatus(forward: .method)
            return .forward(forward)
        case .get, .head:
            break
        }
        // The hit path's probe already looked the primary key up: it is the answer unless some URL's
        // responses vary (then the primary key may lead to a variant).
        let found: ResponseCache.Found
        if case .probed(let entry, _, _) = probe, !cache.hasVaryingURLs {
            found = ResponseCache.Found(key: primary, entry: entry, varyMiss: false)
        } else {
            found = cache.lookup(primary) { CacheRequest.secondaryKey(bytes, route: route, varyNames: $0) }
        }
        if let entry = found.entry {
            let age = entry.currentAge(now: now)
            let verdict = Freshness.verdict(
                request: forward.request.cacheControl, response: entry.head.headers.cacheControl,
                lifetime: entry.lifetime,
                currentAge: age, defaultStaleWhileRevalidate: settings.staleWhileRevalidateSeconds)
            switch verdict {
            case .fresh, .staleAllowed:
                let ttl = entry.lifetime - age
                let status = CacheStatus(hit: true, ttl: ttl)
                return .answer(
                    answer(
                        entry, request: forward.request, status: status, age: age,
                        result: verdict == .fresh ? .hit : .stale,
                        context: context))
            case .staleWhileRevalidate:
                // RFC 5861 §3: answer now, revalidate in the background (one refresh per URL).
                let status = CacheStatus(hit: true, ttl: entry.lifetime - age, detail: "stale-while-revalidate")
                let stale = answer(
                    entry, request: forward.request, status: status, age: age, result: .stale, context: context)
                guard case .leader(let fill) = cache.fill(for: primary) else { return .answerAndRefresh(stale, nil) }
                forward.status = CacheStatus(forward: .stale)
                forward.stored = (entry, found.key)
                forward.conditional = entry.head.etag != nil || entry.head.lastModified != nil
                forward.mayStore = true
                forward.background = true
                forward.fill = fill
                forward.requestFields = fields(bytes, route: route)
                // The refresh asks for the whole response, whatever this request's own conditions.
                forward.request.ifNoneMatch = nil
                forward.request.ifModifiedSince = nil
                forward.request.range = nil
                forward.request.ifRange = nil
                return .answerAndRefresh(stale, forward)
            case .revalidate:
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
                forward.mayStore = forward.request.method == .get && !forward.request.cacheControl.noStore
                if forward.mayStore {
                    forward.requestFields = fields(bytes, route: route)
                }
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
        if forward.request.cacheControl.onlyIfCached {
            return .answer(
                Answer(
                    head: CachedAnswers.gatewayTimeout(
                        status: forward.status, region: context.regionName, close: context.close,
                        allocator: context.allocator), body: nil, status: 504, result: .miss))
        }
        forward.mayStore =
            forward.request.method == .get && !forward.request.cacheControl.noStore
            && !forward.isConditionalOrPartial && !forward.request.hasBody
        guard forward.mayStore else { return .forward(forward) }
        // A new URL in a nearly full store is stored at its second request (``CacheStore/admits(hash:)``):
        // this one goes upstream uncollapsed, as a pass would. The probe asked already when it could.
        guard found.varyMiss || probe.admitted || cache.admits(primary) else {
            forward.mayStore = false
            forward.status.detail = "not-admitted"
            return .forward(forward)
        }
        forward.requestFields = fields(bytes, route: route)
        switch cache.fill(for: primary) {
        case .leader(let fill):
            forward.fill = fill
            return .forward(forward)
        case .follower(let fill):
            return .follow(fill, forward)
        case .alone:
            return .forward(forward)
        }
    }

    /// An answer from the cache when no region can take the request (all down): the stored
    /// response if it is fresh, or stale within `stale-if-error` (RFC 5861 §4: the origin is
    /// unreachable); nil otherwise (the client gets the 503).
    static func whenUnavailable(
        _ cache: ResponseCache, settings: CacheSettings, bytes: UnsafeRawBufferPointer, head: RequestHead,
        context: Context, scratch: inout [UInt8]
    ) -> Answer? {
        let route = RouteRequest(head: head, bytes: bytes)
        let request = CacheRequest(bytes, head: head, route: route, secure: context.secure, query: settings.query)
        guard request.method == .get || request.method == .head else { return nil }
        let (_, keyWritten, _) = freshHit(cache, settings: settings, bytes, head: head, route: route, context, &scratch)
        let primary = primaryKey(
            bytes, route: route, settings: settings, context: context, written: keyWritten, scratch, hash: nil)
        let found = cache.lookup(primary) { CacheRequest.secondaryKey(bytes, route: route, varyNames: $0) }
        guard let entry = found.entry else { return nil }
        let age = entry.currentAge(now: cache.clock.now)
        if entry.plainlyReusable && entry.lifetime > age && !request.cacheControl.requiresRevalidation {
            return answer(
                entry, request: request, status: CacheStatus(hit: true, ttl: entry.lifetime - age), age: age,
                result: .hit, context: context)
        }
        guard
            Freshness.mayServeStaleOnError(
                request: request.cacheControl, response: entry.head.headers.cacheControl, lifetime: entry.lifetime,
                currentAge: age, defaultWindow: settings.staleIfErrorSeconds)
        else { return nil }
        let status = CacheStatus(hit: true, ttl: entry.lifetime - age, detail: "stale-if-error")
        return answer(entry, request: request, status: status, age: age, result: .stale, context: context)
    }

    /// The request's primary key: from the bytes the hit path wrote into `scratch` when it could,
    /// else from the request's text (``CacheKey/normalisedURL(scheme:host:path:query:policy:)``).
    private static func primaryKey(
        _ bytes: UnsafeRawBufferPointer, route: RouteRequest, settings: CacheSettings, context: Context,
        written: Bool, _ scratch: [UInt8], hash: UInt64?
    ) -> CacheKey {
        if written { return CacheKey(keyBytes: scratch, hash: hash) }
        return CacheKey(
            url: CacheRequest.normalisedURL(bytes, route: route, secure: context.secure, policy: settings.query),
            region: context.keyScope)
    }

    /// What the hit path's store lookup found, for ``plan`` to reuse.
    private enum Probe {
        case none
        /// The primary key (whose hash is `hash`) was looked up: its entry, if any, and when there
        /// was none and the probe asked, whether the store admits the URL. The hit path looks up
        /// only a plain request (none of the fields the rules read:
        /// ``CacheRequest/init(plain:head:secure:query:)``).
        case probed(StoredResponse?, hash: UInt64, admitted: Bool?)

        var plain: Bool {
            if case .probed = self { return true }
            return false
        }

        var hash: UInt64? {
            if case .probed(_, let hash, _) = self { return hash }
            return nil
        }

        /// The probe asked the store, and it admits the URL.
        var admitted: Bool {
            if case .probed(nil, _, true?) = self { return true }
            return false
        }
    }

    /// The hit path: a plain GET or HEAD (no `Cache-Control`, `Pragma`, conditions or range) whose
    /// stored response is fresh is answered from the key's bytes, with no string made. Anything
    /// else is nil: ``plan`` decides it by the rules in full.
    private static func freshHit(
        _ cache: ResponseCache, settings: CacheSettings, _ bytes: UnsafeRawBufferPointer, head: RequestHead,
        route: RouteRequest, _ context: Context, _ scratch: inout [UInt8]
    ) -> (answer: Answer?, keyWritten: Bool, probe: Probe) {
        let method = head.method.bytes(in: bytes)
        let isHEAD = RequestMethod.isHEAD(method)
        let methodMayHit = isHEAD || (method.count == 3 && method[0] == UInt8(ascii: "G"))
        var host: RequestHead.Span?
        var plain = true
        RouteRequest.forEachField(in: bytes, fields: route.fields) { name, value in
            switch name.count {
            case 4 where FieldLines.equals(bytes, name, "host"):
                if host == nil { host = value }
            case 5: plain = !FieldLines.equals(bytes, name, "range")
            case 6: plain = !FieldLines.equals(bytes, name, "pragma")
            case 8: plain = !FieldLines.equals(bytes, name, "if-range")
            case 13:
                plain =
                    !FieldLines.equals(bytes, name, "cache-control") && !FieldLines.equals(bytes, name, "if-none-match")
                    && !FieldLines.equals(bytes, name, "authorization")
            case 17: plain = !FieldLines.equals(bytes, name, "if-modified-since")
            default: break
            }
            return plain
        }
        guard let host = host ?? route.host,
            CacheKeyBytes.write(
                into: &scratch, secure: context.secure, host: host.bytes(in: bytes), path: route.path.bytes(in: bytes),
                query: route.query?.bytes(in: bytes), policy: settings.query,
                region: context.keyScopeBytes)
        else { return (nil, false, .none) }
        guard plain, methodMayHit, head.body == .none else { return (nil, true, .none) }
        // A GET's response may be stored (it is plain): a miss asks about admission in the same
        // lock. Not where responses vary (``plan`` then looks the variant up first).
        let admitting = !isHEAD && !cache.hasVaryingURLs
        let (found, hash, admitted) = scratch.withUnsafeBytes { key in
            let hash = CacheKey.hash(key)
            let (entry, admitted) = cache.store.lookup(hash: hash, bytes: key, admitting: admitting)
            return (entry, hash, admitted)
        }
        guard let entry = found else {
            return (nil, true, .probed(nil, hash: hash, admitted: admitting ? admitted : nil))
        }
        guard entry.plainlyReusable else { return (nil, true, .probed(entry, hash: hash, admitted: nil)) }
        let age = entry.currentAge(now: cache.clock.now)
        guard entry.lifetime > age else { return (nil, true, .probed(entry, hash: hash, admitted: nil)) }
        let extras = CachedAnswers.Extras(
            age: age, status: CacheStatus(hit: true, ttl: entry.lifetime - age), region: context.regionName,
            close: context.close, http10: context.http10, edits: context.edits, cookies: context.cookies)
        let out = CachedAnswers.write(entry, .full(headOnly: isHEAD), extras, allocator: context.allocator)
        return (
            Answer(head: out.head, body: out.body, status: entry.head.status, result: .hit), true,
            .probed(entry, hash: hash, admitted: nil)
        )
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

    /// The request's field lines, copied (their `Vary` key is made later, if a response varies).
    static func fields(_ bytes: UnsafeRawBufferPointer, route: RouteRequest) -> [UInt8] {
        Array(route.fields.bytes(in: bytes))
    }
}
