import GeoFrontCore
import GeoIP
import NIOCore

/// `rate_limit` in the front end. Without `store` the event loop's token bucket decides at once.
/// With `store` Redis decides, so the request waits (``HTTP1FrontEnd/Phase/limiting``) with a
/// copy of its head, reads of the connection held once a head's worth of pipelined bytes is
/// buffered; the answer resumes it on the event loop, and the requests after it keep their order.
extension HTTP1FrontEnd {
    /// True when the request whose head is in `bytes` was answered here (429) or waits for Redis.
    @inline(__always)
    func limited(
        _ bytes: UnsafeRawBufferPointer, client: ClientIP, _ limit: RateLimitSettings, _ snapshot: RoutingSnapshot,
        close: Bool, logged: (method: String, target: String)?, start: NIODeadline, _ allocator: ByteBufferAllocator
    ) -> Bool {
        guard let store = limit.store else {
            guard let retryAfter = loop.rateLimited(client.address, settings: limit) else { return false }
            tooManyRequests(retryAfter, client: client.address, snapshot, close: close, logged: logged, start: start)
            return true
        }
        return limitedThroughStore(
            bytes, client: client, limit, store, snapshot, close: close, logged: logged, start: start, allocator)
    }

    private func limitedThroughStore(
        _ bytes: UnsafeRawBufferPointer, client: ClientIP, _ limit: RateLimitSettings, _ store: RateLimitStoreSettings,
        _ snapshot: RoutingSnapshot, close: Bool, logged: (method: String, target: String)?, start: NIODeadline,
        _ allocator: ByteBufferAllocator
    ) -> Bool {
        // The connection's buffer moves on before Redis answers: the head is kept as a copy.
        let saved = allocator.buffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<head.length]))
        phase = .limiting
        let turn = loop.rateLimitTurn(client.address, limit: limit, store: store) { [self] retryAfter in
            resume(retryAfter, saved, client: client, snapshot, close: close, logged: logged, start: start)
        }
        switch turn {
        case .waiting:
            // Redis answers within timeout_ms; the request deadline only guards against a lost answer.
            if case .limiting = phase { arm(limits.requestTimeout) }
            return true
        case .pass:
            phase = .awaitingHead
            return false
        case .limited(let retryAfter):
            phase = .awaitingHead
            tooManyRequests(retryAfter, client: client.address, snapshot, close: close, logged: logged, start: start)
            return true
        }
    }

    /// Redis (or `on_error`) decided about the waiting request.
    private func resume(
        _ retryAfter: Int?, _ saved: ByteBuffer, client: ClientIP, _ snapshot: RoutingSnapshot, close: Bool,
        logged: (method: String, target: String)?, start: NIODeadline
    ) {
        guard case .limiting = phase, let allocator else { return }
        phase = .awaitingHead
        if let retryAfter {
            tooManyRequests(retryAfter, client: client.address, snapshot, close: close, logged: logged, start: start)
        } else {
            saved.withUnsafeReadableBytes { bytes in
                // Not sampled for the decision time: it would include Redis's round trip.
                decide(
                    bytes, client: client, snapshot: snapshot, close: close, logged: logged, start: start,
                    sampled: false, allocator)
            }
        }
        continueAfterRateLimit()
    }

    /// A 429 for a client over `rate_limit`: counted, logged, answered.
    private func tooManyRequests(
        _ retryAfter: Int, client: IPAddress, _ snapshot: RoutingSnapshot, close: Bool,
        logged: (method: String, target: String)?, start: NIODeadline
    ) {
        guard let allocator else { return }
        loop.countTooManyRequests(
            client: client, mode: snapshot.uniformMode ?? .proxy, logged: logged, start: start,
            database: snapshot.database, http2: http2)
        // A gRPC call gets RESOURCE_EXHAUSTED, which its client does not retry at once (gRPC's
        // own mapping of 429, UNAVAILABLE, would have it retried into the limit again).
        answer(
            head.isGRPC
                ? LocalResponses.grpc(
                    allocator, status: 429, code: .resourceExhausted, message: "GeoFront: rate limited",
                    keepAlive: !close)
                : LocalResponses.tooManyRequests(allocator, retryAfter: retryAfter, close: close),
            close: close)
    }

    /// The waiting request was answered or went on to its exchange: a body read meanwhile goes to
    /// the exchange, then held reads and the next requests follow.
    private func continueAfterRateLimit() {
        if case .exchange = phase, let driver, !driver.requestComplete, var pending = buffer, pending.readableBytes > 0
        {
            buffer = nil
            driver.requestBody(&pending)
            if pending.readableBytes > 0 { buffer = pending }
        }
        if readPending {
            readPending = false
            readRequested()
        }
        process()
    }
}
