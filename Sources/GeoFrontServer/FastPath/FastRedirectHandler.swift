import GeoFrontCore
import GeoIP
import NIOCore

/// The whole pipeline of a connection when every region redirects: bytes in, bytes out.
///
/// Each request head is parsed in place by ``RequestHeadParser`` (as strict as llhttp), routed
/// (client IP → `rate_limit` → ``RoutingSnapshot/decide(client:)``), and answered from pre-built bytes: status
/// line and constant headers per region, the `Location` prefix per region, the request's path and
/// query appended (unsafe bytes percent-encoded). No `HTTPRequestHead`, no header collection, no
/// strings per request. Bodies are read past (Content-Length or strictly parsed chunked).
/// Pipelined requests are answered in order; responses are flushed once per socket read.
///
/// Timeouts as in ``ConnectionTimeoutHandler``: `idle_timeout_ms` with nothing in progress;
/// `request_timeout_ms` from a head's first byte to its end (then 408), and as the longest pause
/// inside a body. One ``DeadlineTimer`` per connection (in the loop's ``LoopTimers``), re-armed lazily.
final class FastRedirectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case awaitingHead
        case skippingBody(remaining: Int)
        case skippingChunked(ChunkedBodySkipper)
        /// A response that ends the connection was written; nothing more is read.
        case closing
    }

    private let snapshots: NIOLoopBoundBox<RoutingSnapshot>
    private let loop: LoopState
    private var peer = IPAddress(v4: 0)
    private var buffer: ByteBuffer?
    private var head = RequestHead()
    private var phase = Phase.awaitingHead
    private var unflushed = false
    private var quiescing = false
    /// Requests answered on this connection (for `max_requests_per_connection`).
    private var requests = 0

    private let limits: ClientConnectionLimits
    private let timer: DeadlineTimer
    /// The current head's deadline was set at its first byte.
    private var headStarted = false

    init(snapshots: NIOLoopBoundBox<RoutingSnapshot>, loop: LoopState, settings: ServerSettings) {
        self.snapshots = snapshots
        self.loop = loop
        self.limits = ClientConnectionLimits(settings)
        self.timer = DeadlineTimer(timers: loop.timers)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Cleared in handlerRemoved, which ends the cycle through `context`.
        timer.action = { [unowned self] in self.timedOut(context: context) }
        peer = IPAddress(context.channel.remoteAddress) ?? IPAddress(v4: 0)
        if context.channel.isActive { arm(limits.idleTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(limits.idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        timer.action = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let source = event as? ProxyProtocolSource {
            peer = source.address
            return
        }
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: close now if idle, else after the current response.
            quiescing = true
            if case .awaitingHead = phase, (buffer?.readableBytes ?? 0) == 0 {
                flushIfNeeded(context: context)
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if case .closing = phase { return }
        if buffer == nil {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
        process(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context: context)
        context.fireChannelReadComplete()
    }

    // MARK: - Requests

    private func process(context: ChannelHandlerContext) {
        while var current = buffer, current.readableBytes > 0 {
            buffer = nil  // keep the storage uniquely referenced while it is worked on
            defer {
                if current.readableBytes == 0 {
                    buffer = nil
                } else {
                    if current.readerIndex > 65_536 { current.discardReadBytes() }
                    buffer = current
                }
            }
            switch phase {
            case .closing:
                current.moveReaderIndex(to: current.writerIndex)
                return
            case .skippingBody(let remaining):
                let take = min(remaining, current.readableBytes)
                current.moveReaderIndex(forwardBy: take)
                if take == remaining {
                    requestDone(context: context)
                } else {
                    phase = .skippingBody(remaining: remaining - take)
                    arm(limits.requestTimeout)
                    return
                }
            case .skippingChunked(var skipper):
                let outcome: Result<ChunkedBodySkipper.Outcome, RequestHeadError> = current.withUnsafeReadableBytes {
                    bytes in
                    do throws(RequestHeadError) { return .success(try skipper.consume(bytes)) } catch {
                        return .failure(error)
                    }
                }
                switch outcome {
                case .success(.needMore):
                    current.moveReaderIndex(to: current.writerIndex)
                    phase = .skippingChunked(skipper)
                    arm(limits.requestTimeout)
                    return
                case .success(.done(let consumed)):
                    current.moveReaderIndex(forwardBy: consumed)
                    requestDone(context: context)
                case .failure:
                    // The request was answered already: just end the connection.
                    phase = .closing
                    flushIfNeeded(context: context)
                    context.close(promise: nil)
                    return
                }
            case .awaitingHead:
                let result: Result<RequestHeadParser.Outcome, RequestHeadError> = current.withUnsafeReadableBytes {
                    bytes in
                    do throws(RequestHeadError) {
                        let outcome = try RequestHeadParser.parse(bytes, limit: limits.maxHeadBytes, into: &head)
                        if outcome == .complete { answer(context: context, bytes: bytes) }
                        return .success(outcome)
                    } catch {
                        return .failure(error)
                    }
                }
                switch result {
                case .success(.incomplete):
                    // The head's deadline runs from its first byte (re-reads do not extend it).
                    if !headStarted {
                        headStarted = true
                        arm(limits.requestTimeout)
                    }
                    return
                case .success(.complete):
                    current.moveReaderIndex(forwardBy: head.length)
                    headStarted = false
                    if case .closing = phase {
                        current.moveReaderIndex(to: current.writerIndex)
                        return
                    }
                    switch head.body {
                    case .none: requestDone(context: context)
                    case .contentLength(let length): phase = .skippingBody(remaining: length)
                    case .chunked: phase = .skippingChunked(ChunkedBodySkipper())
                    }
                case .failure(let error):
                    refuse(context: context, status: error == .tooLarge ? 431 : 400)
                    current.moveReaderIndex(to: current.writerIndex)
                    return
                }
            }
        }
    }

    /// The request (head and body) has been read.
    private func requestDone(context: ChannelHandlerContext) {
        if case .closing = phase { return }
        phase = .awaitingHead
        if quiescing {
            phase = .closing
            flushIfNeeded(context: context)
            context.close(promise: nil)
            return
        }
        arm(limits.idleTimeout)
    }

    /// Routes and answers one request whose head is in `bytes`.
    private func answer(context: ChannelHandlerContext, bytes: UnsafeRawBufferPointer) {
        let snapshot = snapshots.value
        let responses = loop.redirectResponses(for: snapshot)
        if head.isConnect {
            refuse(context: context, status: 400)
            return
        }
        let sampled = loop.sampleDecision() || loop.accessLog != nil
        let start = sampled ? NIODeadline.now() : NIODeadline.uptimeNanoseconds(0)
        let client = snapshot.clientIPResolver.resolve(
            peer: peer, xForwardedFor: head.forwardedFor, forwarded: head.forwarded, in: bytes)
        requests += 1
        let close = head.closeRequested || quiescing || (limits.maxRequests > 0 && requests >= limits.maxRequests)
        // Strings only when an access log wants them.
        let logged: (method: String, target: String)? =
            loop.accessLog == nil
            ? nil
            : (
                String(decoding: bytes[head.method.start..<(head.method.start + head.method.count)], as: UTF8.self),
                String(decoding: bytes[head.target.start..<(head.target.start + head.target.count)], as: UTF8.self)
            )
        if let retryAfter = loop.rateLimited(client.address, settings: snapshot.config.rateLimit) {
            loop.countTooManyRequests(
                client: client.address, mode: .redirect, logged: logged, start: start, database: snapshot.database)
            send(
                context: context,
                FastPathResponses.tooManyRequests(context.channel.allocator, retryAfter: retryAfter, close: close),
                close: close)
            return
        }
        let decision = snapshot.decide(client: client)
        let metrics = loop.metrics
        if sampled { metrics.decisionTimer.recordNanoseconds(Int64((NIODeadline.now() - start).nanoseconds)) }
        loop.countLookup(decision.reasons.lookup)
        let region = snapshot.regions[decision.regionIndex]
        if decision.action != .redirect {
            // All regions down with `when_all_down: unavailable`; or a reload made this region a
            // proxy while this connection was open (the fast path only redirects): the client
            // retries on a new connection, which gets the full pipeline.
            let closing = close || decision.action == .proxy
            var out = context.channel.allocator.buffer(capacity: responses.unavailable.count + 24)
            out.writeBytes(responses.unavailable.prefix(responses.unavailable.count - 2))
            if closing { out.writeStaticString("Connection: close\r\n") }
            out.writeStaticString("\r\n")
            out.writeStaticString("503 Service Unavailable: no region is available\n")
            finish(
                context: context, out, status: 503, region: region.name, client: decision.client, start: start,
                close: closing, logged: logged, regionName: region.name)
            return
        }
        let target = UnsafeRawBufferPointer(
            rebasing: bytes[head.target.start..<(head.target.start + head.target.count)])
        guard let path = RedirectLocation.pathAndQuery(of: target) else {
            refuse(context: context, status: 400, keepAlive: !close)
            return
        }
        let prefix = responses.prefix[decision.regionIndex]
        let suffix = responses.suffix[decision.regionIndex]
        var out = context.channel.allocator.buffer(capacity: prefix.count + path.count * 3 + suffix.count + 28)
        out.writeBytes(prefix)
        if path.first != UInt8(ascii: "/") { out.writeInteger(UInt8(ascii: "/")) }
        var safe = true
        for byte in path where !RedirectLocation.isSafe(byte) {
            safe = false
            break
        }
        if safe {
            out.writeBytes(path)
        } else {
            RedirectLocation.appendEscaped(path) { out.writeInteger($0) }
        }
        out.writeBytes(suffix)
        if close {
            out.writeStaticString("Connection: close\r\n")
        } else if head.version == .http10 {
            out.writeStaticString("Connection: keep-alive\r\n")
        }
        out.writeStaticString("\r\n")
        loop.countRedirect(snapshot: snapshot, index: decision.regionIndex, status: snapshot.config.redirect.status)
        finish(
            context: context, out, status: snapshot.config.redirect.status, region: nil,
            client: decision.client, start: start, close: close, logged: logged, regionName: region.name)
    }

    private func finish(
        context: ChannelHandlerContext, _ out: ByteBuffer, status: Int, region: String?, client: IPAddress,
        start: NIODeadline, close: Bool, logged: (method: String, target: String)?, regionName: String
    ) {
        // `region` is nil when the caller already counted the request.
        if let region { loop.countRequest(region: region, mode: .redirect, status: status) }
        if let logged {
            loop.logAccess(
                client: client, region: regionName, mode: .redirect, method: logged.method, target: logged.target,
                status: status, start: start, database: snapshots.value.database)
        }
        send(context: context, out, close: close)
    }

    /// 400, 408 or 431 with `Connection: close` (unless `keepAlive`), then close.
    private func refuse(context: ChannelHandlerContext, status: Int, keepAlive: Bool = false) {
        loop.countRequest(region: "-", mode: .redirect, status: status)
        if !keepAlive { cancelTimer() }
        send(
            context: context, FastPathResponses.plain(context.channel.allocator, status: status, keepAlive: keepAlive),
            close: !keepAlive)
    }

    /// Queues a response: flushed with the batch (`channelReadComplete`) on a connection that
    /// stays open, or flushed now and followed by the close.
    private func send(context: ChannelHandlerContext, _ out: ByteBuffer, close: Bool) {
        if close {
            phase = .closing
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
            unflushed = false
        } else {
            context.write(wrapOutboundOut(out), promise: nil)
            unflushed = true
        }
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
    }

    // MARK: - Timer

    private func arm(_ delay: TimeAmount) {
        timer.arm(in: delay)
    }

    private func cancelTimer() {
        timer.cancel()
    }

    private func timedOut(context: ChannelHandlerContext) {
        switch phase {
        case .awaitingHead where (buffer?.readableBytes ?? 0) > 0:
            refuse(context: context, status: 408)
        case .awaitingHead, .skippingBody, .skippingChunked, .closing:
            flushIfNeeded(context: context)
            context.close(promise: nil)
        }
    }
}
