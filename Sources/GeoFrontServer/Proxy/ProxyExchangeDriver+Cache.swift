import GeoFrontCore
import NIOCore

/// The cache's part of an exchange (``CacheForward``): what it does with the upstream's response
/// head, the body it keeps for the store and the followers, and the answers it makes instead.
extension ProxyExchangeDriver {
    enum CacheHeadOutcome {
        /// The upstream's response goes on, with this `Cache-Status`.
        case pass(CacheStatus?)
        /// The cache answers instead.
        case answer(CacheLookup.Answer)
    }

    /// What the cache does with a final response head from the upstream (RFC 9111): invalidate
    /// after an unsafe method (§4.4), answer from the stored response a 304 revalidated (§4.3.4)
    /// or a 5xx that `stale-if-error` covers (RFC 5861 §4), or pass the response on, storing it
    /// as it streams when it may be stored (§3).
    func cacheResponseHead(
        _ bytes: UnsafeRawBufferPointer, strip: [[UInt8]], closeClient: Bool, allocator: ByteBufferAllocator
    ) -> CacheHeadOutcome {
        guard let forward = cacheForward else { return .pass(nil) }
        let cache = forward.cache
        let status = responseHead.status
        let now = cache.clock.now
        var cacheStatus = forward.status
        cacheStatus.forwardStatus = status
        if forward.request.method == .unsafe, status < 400 {
            let read = ResponseCacheFields(bytes, head: responseHead)
            for url in CacheRevalidation.invalidated(
                forward.request, location: read.location, contentLocation: read.contentLocation)
            {
                cache.invalidate(url: url)
            }
        }
        if let stored = forward.stored {
            if status == 304 && forward.conditional {
                let fields = StoredHead.allFields(bytes, head: responseHead)
                let updated = CacheRevalidation.updated(
                    stored.entry, with: fields, requestTime: forward.requestTime, now: now, allocator: allocator)
                cache.replace(updated, key: stored.key)
                forward.fill?.release()
                cacheResult = .revalidated
                cacheStatus.ttl = updated.ttl(now: now)
                return .answer(
                    CacheLookup.answer(
                        updated, request: forward.request, status: cacheStatus, age: updated.currentAge(now: now),
                        result: .revalidated, context: answerContext(allocator, close: closeClient)))
            }
            if status >= 500,
                let answer = staleAnswer(
                    stored.entry, forward: forward, upstreamStatus: status, now: now, close: closeClient)
            {
                forward.fill?.release()
                return .answer(answer)
            }
        }
        guard forward.mayStore, status != 206 else {
            forward.fill?.release()
            return .pass(cacheStatus)
        }
        // The stored head's lines are written in the same pass, unless the URL's responses were
        // not storable lately (a pass-through: no fill).
        let read = ResponseCacheFields(
            bytes, head: responseHead, keeping: forward.fill == nil ? nil : (strip, allocator), dates: loop.dates)
        let headers = read.headers
        let verdict = CacheStorability.verdict(
            method: "GET", request: forward.rulesHeaders, status: status, response: headers)
        let length = responseHead.framing(requestWasHEAD: false)
        let tooLarge: Bool
        switch length {
        case .contentLength(let count): tooLarge = count > cache.store.maxObjectBytes
        default: tooLarge = false
        }
        guard case .storable = verdict, !tooLarge else {
            if case .notStorable(let reason) = verdict { cacheStatus.detail = reason.rawValue }
            if tooLarge { cacheStatus.detail = "too-large" }
            // The origin's answer now is not to be stored: the stale copy it replaces goes too.
            if let stored = forward.stored { cache.store.remove(stored.key) }
            if let fill = forward.fill {
                cache.fillNotStorable(fill)
                fill.release()
            }
            return .pass(cacheStatus)
        }
        let head = StoredHead(bytes, head: responseHead, read: read, strip: strip, allocator: allocator)
        let fill = forward.fill ?? CacheFill(key: forward.primary)
        forward.fill = fill
        let contentLength: Int?
        switch length {
        case .none: contentLength = 0
        case .contentLength(let count): contentLength = count
        case .chunked, .untilClose: contentLength = nil
        }
        fill.publish(
            CacheFill.Head(
                stored: head, contentLength: contentLength,
                secondaryKey: forward.secondaryKey(varyNames: head.varyNames),
                age: Freshness.AgeInputs(response: headers, requestTime: forward.requestTime, responseTime: now)))
        filling = true
        cacheStatus.stored = true
        return .pass(cacheStatus)
    }

    /// Body content passing to the client (`range` of `bytes`), kept for the store (and the followers).
    func fillBody(_ bytes: ByteBuffer, _ range: Range<Int>) {
        guard !range.isEmpty, let fill = cacheForward?.fill else { return }
        // Copied: a slice would pin the connection's whole read buffer for as long as the entry
        // lives, and the allocator would have to make a new one for every read.
        var part = ByteBufferAllocator().buffer(capacity: range.count)
        part.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex + range.lowerBound, length: range.count)!)
        fill.append(part)
    }

    /// After body content was kept: longer than `max_object_kb` after all (no length was given)
    /// means not stored.
    func fillChecked() {
        guard let fill = cacheForward?.fill, let cache = cacheForward?.cache else { return }
        if fill.receivedBytes > cache.store.maxObjectBytes { abandonFill() }
    }

    /// Whether the upstream's response body is chunked.
    var responseIsChunked: Bool {
        if case .chunked = responseHead.framing(requestWasHEAD: false) { return true }
        return false
    }

    /// The response is whole: stored, and the followers finish.
    func completeFill() {
        filling = false
        guard let forward = cacheForward, let fill = forward.fill, let head = fill.head
        else { return }
        let cache = forward.cache
        let parts = fill.body
        var body: ByteBuffer
        if parts.count == 1 {
            body = parts[0]  // one read: already its own exact buffer
        } else {
            body = ByteBufferAllocator().buffer(capacity: parts.reduce(0) { $0 + $1.readableBytes })
            for part in parts { body.writeImmutableBuffer(part) }
        }
        let lifetime = Freshness.lifetime(
            response: head.stored.headers, status: head.stored.status, responseTime: head.age.responseTime)
        cache.insert(
            StoredResponse(
                head: head.stored, body: body, lifetime: lifetime.seconds, age: head.age,
                secondaryKey: head.secondaryKey),
            primary: forward.primary)
        fill.finish()
        cache.endFill(fill)
        forward.fill = nil
    }

    /// The exchange ends without a whole response: the fill's followers are released (before the
    /// head) or cut (after it), and nothing is stored.
    func abandonFill() {
        filling = false
        guard let fill = cacheForward?.fill else { return }
        cacheForward?.fill = nil
        fill.fail()
        cacheForward?.cache.endFill(fill)
    }

    /// A stale stored response for a failed exchange (a local 502/503/504), when `stale-if-error`
    /// (the request's, the response's, or the configured default) allows it.
    func staleOnError(upstreamStatus: Int, closeClient: Bool) -> CacheLookup.Answer? {
        guard upstreamStatus >= 500, let forward = cacheForward, let stored = forward.stored else { return nil }
        return staleAnswer(
            stored.entry, forward: forward, upstreamStatus: upstreamStatus, now: forward.cache.clock.now,
            close: closeClient)
    }

    func staleAnswer(
        _ entry: StoredResponse, forward: CacheForward, upstreamStatus: Int, now: Int, close: Bool
    ) -> CacheLookup.Answer? {
        let age = entry.currentAge(now: now)
        guard
            Freshness.mayServeStaleOnError(
                request: forward.request.cacheControl, response: entry.head.headers.cacheControl,
                lifetime: entry.lifetime, currentAge: age, defaultWindow: forward.settings.staleIfErrorSeconds)
        else { return nil }
        guard let allocator = frontEnd.allocator else { return nil }
        var status = forward.status
        status.forwardStatus = upstreamStatus
        status.ttl = entry.lifetime - age
        status.detail = "stale-if-error"
        cacheResult = .stale
        return CacheLookup.answer(
            entry, request: forward.request, status: status, age: age, result: .stale,
            context: answerContext(allocator, close: close))
    }

    /// Writes an answer the cache made in place of the upstream's and ends the exchange.
    func answerFromCache(_ answer: CacheLookup.Answer, closeClient: Bool) {
        abandonFill()
        cacheResult = answer.result
        answered(status: answer.status)
        frontEnd.write(answer.head)
        if let body = answer.body { frontEnd.write(body) }
        finished(closeClient: closeClient)
    }

    private func answerContext(_ allocator: ByteBufferAllocator, close: Bool) -> CacheLookup.Context {
        let actions = route.flatMap { route in snapshot.map { $0.routeActions[route] } }
        var cookies: [UInt8]?
        if let line = newCookie.flatMap({ actions?.setCookieLine($0) }) { cookies = line }
        if let affinityCookie { cookies = (cookies ?? []) + affinityCookie }
        return CacheLookup.Context(
            secure: frontEnd.secure, keyScope: nil, keyScopeBytes: nil, regionName: regionName, close: close,
            http10: http10,
            edits: actions?.responseHeaders, cookies: cookies, allocator: allocator)
    }
}
