import GeoFrontCore
import GeoIP
import NIOCore
import NIOHTTP1

/// One proxied request, from its head arriving to its response end leaving. Lives on the client
/// connection's event loop; its upstream connections live there too, so nothing here is shared.
///
/// Streaming with backpressure both ways: request body parts go upstream as they arrive, and the
/// client's reads are held while the upstream cannot take more (or is still connecting);
/// response parts go to the client as they arrive, and the upstream's reads are held while the
/// client cannot take more. Nothing is buffered whole.
///
/// Retries: a failure before any byte went upstream (refused, reset on connect, pool exhausted,
/// connect timeout) moves to the next upstream of the region, then to the next-nearest available
/// region, up to `max_attempts`. Idempotent requests are also retried when the upstream fails
/// before its response starts, if their body (at most 64 KiB) was kept. Anything else is
/// answered 502 (or 504 on a timeout) with a body that names no upstream.
final class ProxyExchange {
    private enum Phase {
        /// Waiting for a connection to the current upstream.
        case connecting
        /// Request (or its rest) going upstream; waiting for the response head.
        case awaitingResponse
        /// Response head sent to the client; body streaming.
        case streamingResponse
        case finished
    }

    /// Body bytes kept for a possible retry of an idempotent request.
    static let replayLimit = 64 * 1024

    private unowned let handler: FrontDoorHandler
    private let context: ChannelHandlerContext
    private let snapshot: RoutingSnapshot
    private let pool: UpstreamPool<UpstreamHandler>
    private let loop: LoopState
    /// When the current attempt started (upstream latency).
    private var attemptStart = NIODeadline.now()
    private let health: ProxyHealthReporter?
    private let request: HTTPRequestHead
    private let peer: IPAddress
    private let peerTrusted: Bool
    private let coordinate: Coordinate?
    /// `http` or `https`: how the client reached GeoFront (X-Forwarded-Proto, Forwarded proto=).
    private let scheme: String
    private var clientKeepAlive: Bool
    /// The client asked for a protocol upgrade (WebSocket): on 101 the exchange becomes a tunnel.
    private let isUpgrade: Bool
    /// The request announced a body (Content-Length > 0 or chunked).
    private let requestHasBody: Bool
    private let settings: ProxySettings

    private var phase = Phase.connecting
    private var attempts: UpstreamAttempts
    private var regionIndex: Int { attempts.regionIndex }
    private var upstreamIndex: Int { attempts.upstreamIndex }
    private var connection: UpstreamConnection<UpstreamHandler>?

    /// Body parts received but not yet written upstream (while connecting).
    private var pendingBody: [ByteBuffer] = []
    /// Body parts already written, kept while a retry may still need them.
    private var replayBody: [ByteBuffer] = []
    private var replayBytes = 0
    private var replayable: Bool
    private var bodyWritten = false
    private var clientEnded = false
    /// The client's chunked trailer fields, written after the body upstream (each attempt).
    private var requestTrailers: HTTPHeaders?
    private var requestEndWritten = false
    private var clientWritable = true
    private var upstreamWritable = true
    private var timer: Scheduled<Void>?
    /// Response body arrived since the idle timer was last armed.
    private var bodyActivity = false
    /// The current attempt is counted in its balancer's requests in flight.
    private var inFlight = false
    /// The current attempt's outcome went to outlier detection.
    private var outcomeRecorded = false

    init(
        handler: FrontDoorHandler, context: ChannelHandlerContext, snapshot: RoutingSnapshot, loop: LoopState,
        health: ProxyHealthReporter?, request: HTTPRequestHead, peer: IPAddress, peerTrusted: Bool,
        decision: RoutingDecision, scheme: String = "http"
    ) {
        self.scheme = scheme
        self.handler = handler
        self.context = context
        self.snapshot = snapshot
        self.pool = loop.pool
        self.loop = loop
        self.health = health
        self.request = request
        self.peer = peer
        self.peerTrusted = peerTrusted
        self.coordinate = decision.coordinate
        self.attempts = UpstreamAttempts(regionIndex: decision.regionIndex)
        self.clientKeepAlive = request.isKeepAlive
        self.isUpgrade = ProxyHeaders.upgradeProtocol(of: request) != nil
        self.requestHasBody =
            request.headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased() == "chunked" }
            || (Int(request.headers.first(name: "content-length") ?? "0") ?? 1) > 0
        self.settings = snapshot.config.proxy
        self.replayable = request.method.isIdempotent
        self.clientWritable = context.channel.isWritable
    }

    /// Whether the client's reads must wait (connecting, or the upstream is not writable).
    var holdsClientReads: Bool {
        switch phase {
        case .connecting: return true
        case .awaitingResponse, .streamingResponse: return !upstreamWritable
        case .finished: return false
        }
    }

    func start() {
        attempt()
    }

    // MARK: - Client side

    func clientBody(_ buffer: ByteBuffer) {
        switch phase {
        case .connecting:
            pendingBody.append(buffer)
        case .awaitingResponse, .streamingResponse:
            guard let connection, !requestEndWritten else { return }
            writeBody(buffer, to: connection)
            connection.channel.flush()
        case .finished:
            break
        }
    }

    /// The request's end, with its chunked trailer fields if it had any (passed on upstream).
    func clientEnd(trailers: HTTPHeaders? = nil) {
        clientEnded = true
        requestTrailers = trailers
        switch phase {
        case .connecting:
            break
        case .awaitingResponse, .streamingResponse:
            guard let connection, !requestEndWritten else { return }
            writeEnd(to: connection)
        case .finished:
            handler.exchangeFinished(requestComplete: true)
        }
    }

    func clientWritabilityChanged(_ writable: Bool) {
        clientWritable = writable
        guard let connection else { return }
        if writable {
            connection.handler.resumeReads()
            if phase == .streamingResponse { armTimer(settings.idleTimeoutMilliseconds) }
        } else {
            connection.handler.pauseReads()
            // The upstream is silent because we stopped reading it, not because it stalled.
            if phase == .streamingResponse { cancelTimer() }
        }
    }

    func clientClosed() {
        guard phase != .finished else { return }
        phase = .finished
        cancelTimer()
        dropConnection(reusable: false)
        endInFlight()
    }

    // MARK: - Attempts

    private var region: RegionEntry { snapshot.regions[regionIndex] }

    private func attempt() {
        guard let next = attempts.next(snapshot: snapshot, loop: loop, coordinate: coordinate) else {
            fail(.badGateway)
            return
        }
        inFlight = true
        outcomeRecorded = false
        attemptStart = .now()
        phase = .connecting
        let upstream = region.config.upstreams[next]
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        pool.acquire(upstream, settings: settings).whenComplete { result in
            let exchange = loopBound.value
            switch result {
            case .success(let connection): exchange.connected(connection)
            case .failure(let error): exchange.connectFailed(error)
            }
        }
    }

    private func connectFailed(_ error: any Error) {
        guard phase == .connecting else { return }
        recordOutcome(UpstreamConnectError.kind(of: error))
        endInFlight()
        // Nothing was sent: always safe to try elsewhere.
        retryOrFail(timeout: false)
    }

    private func connected(_ connection: UpstreamConnection<UpstreamHandler>) {
        guard phase == .connecting else {
            pool.release(connection, reusable: false, settings: settings)
            return
        }
        self.connection = connection
        connection.handler.delegate = self
        upstreamWritable = connection.channel.isWritable
        if !clientWritable { connection.handler.pauseReads() }
        phase = .awaitingResponse
        let upstream = region.config.upstreams[upstreamIndex]
        let head = ProxyHeaders.upstreamRequest(
            request, peer: peer, peerTrusted: peerTrusted, scheme: scheme, upstream: upstream,
            hostPolicy: settings.hostHeader)
        connection.channel.write(HTTPClientRequestPart.head(head), promise: nil)
        for buffer in replayBody {
            connection.channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        }
        let pending = pendingBody
        pendingBody = []
        for buffer in pending { writeBody(buffer, to: connection) }
        if clientEnded {
            writeEnd(to: connection)
        } else {
            // The response timeout starts once the whole request is out (writeEnd): an upload
            // may take as long as it streams.
            connection.channel.flush()
        }
        handler.resumeClientReads()
    }

    private func writeBody(_ buffer: ByteBuffer, to connection: UpstreamConnection<UpstreamHandler>) {
        bodyWritten = true
        if replayable {
            replayBytes += buffer.readableBytes
            if replayBytes <= Self.replayLimit {
                replayBody.append(buffer)
            } else {
                replayable = false
                replayBody = []
            }
        }
        connection.channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
    }

    private func writeEnd(to connection: UpstreamConnection<UpstreamHandler>) {
        requestEndWritten = true
        connection.channel.writeAndFlush(HTTPClientRequestPart.end(requestTrailers), promise: nil)
        if phase == .awaitingResponse { armTimer(settings.responseTimeoutMilliseconds) }
    }

    /// After a failure before the response started.
    private func retryOrFail(timeout: Bool) {
        let hadConnection = connection != nil
        dropConnection(reusable: false)
        endInFlight()
        // The request reached the upstream: only an idempotent request with its body kept may go again.
        let mayRetry = !hadConnection || (replayable && (!bodyWritten || !replayBody.isEmpty || replayBytes == 0))
        if mayRetry, attempts.hasNext(snapshot: snapshot, coordinate: coordinate) {
            attempt()
        } else {
            fail(timeout ? .gatewayTimeout : .badGateway)
        }
    }

    /// Answers the client with 502/504 (before any response byte went out), or cuts the
    /// connection (after).
    private func fail(_ status: HTTPResponseStatus) {
        let started = phase == .streamingResponse
        phase = .finished
        cancelTimer()
        dropConnection(reusable: false)
        endInFlight()
        if started {
            // Never make up an ending: the client sees the response cut short.
            context.close(promise: nil)
            return
        }
        let body = "\(status.code) \(status.reasonPhrase)\n"
        var headers: HTTPHeaders = ["Cache-Control": "no-store", "X-GeoFront-Region": region.name]
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        // A request still sending a body that nobody will read is better closed than drained.
        let complete = clientEnded || !requestHasBody
        handler.respond(
            context: context, status: status, headers: headers, keepAlive: clientKeepAlive && complete, body: body)
        handler.exchangeFinished(requestComplete: clientEnded)
    }

    /// Tells outlier detection (and metrics) how the current attempt went (once per attempt).
    /// The current attempt's outcome, once: `failure` nil when it succeeded.
    private func recordOutcome(_ failure: UpstreamFailure.Kind?) {
        guard !outcomeRecorded else { return }
        outcomeRecorded = true
        attempts.record(failure, since: attemptStart, snapshot: snapshot, loop: loop, health: health)
    }

    /// The current attempt no longer counts as a request in flight.
    private func endInFlight() {
        guard inFlight else { return }
        inFlight = false
        attempts.finished(snapshot: snapshot, loop: loop)
    }

    private func dropConnection(reusable: Bool) {
        guard let connection else { return }
        self.connection = nil
        connection.handler.delegate = nil
        pool.release(connection, reusable: reusable, settings: settings)
    }

    // MARK: - Timers

    private func armTimer(_ milliseconds: Int) {
        cancelTimer()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(milliseconds))) {
            loopBound.value.timerFired()
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    private func timerFired() {
        timer = nil
        switch phase {
        case .awaitingResponse:
            recordOutcome(.responseTimeout(milliseconds: settings.responseTimeoutMilliseconds))
            retryOrFail(timeout: true)
        case .streamingResponse:
            fail(.gatewayTimeout)
        case .connecting, .finished:
            break
        }
    }
}

extension ProxyExchange: UpstreamDelegate {
    func upstreamReceived(_ part: HTTPClientResponsePart) {
        switch part {
        case .head(let head):
            guard phase == .awaitingResponse else { return }
            if head.status == .switchingProtocols && isUpgrade {
                switchToTunnel(head)
                return
            }
            if head.status.code < 200 {
                // 1xx: 100 Continue and 103 Early Hints go through; an unasked-for 101 does not.
                if head.status.code != 101 && request.version != .http1_0 {
                    let informational = HTTPResponseHead(version: .http1_1, status: head.status, headers: head.headers)
                    context.writeAndFlush(NIOAny(HTTPServerResponsePart.head(informational)), promise: nil)
                }
                return
            }
            phase = .streamingResponse
            replayBody = []
            if isUpgrade {
                // Upgrade refused: the client's decoder stopped at the upgrade request, so this
                // connection cannot carry another request.
                clientKeepAlive = false
            }
            let failed = settings.outlierDetection.count5xx && head.status.code >= 500
            recordOutcome(failed ? .status(Int(head.status.code)) : nil)
            var response = ProxyHeaders.clientResponse(
                head, region: region.name, strip: settings.removedResponseHeaders)
            if request.version == .http1_0 {
                // An HTTP/1.0 client cannot take chunked framing: without a length, closing ends the body.
                if response.headers.contains(name: "content-length") && clientKeepAlive {
                    response.headers.add(name: "Connection", value: "keep-alive")
                } else {
                    clientKeepAlive = false
                    response.headers.add(name: "Connection", value: "close")
                }
            } else if !clientKeepAlive {
                response.headers.add(name: "Connection", value: "close")
            }
            context.write(NIOAny(HTTPServerResponsePart.head(response)), promise: nil)
            handler.requestAnswered(status: Int(response.status.code))
            armTimer(settings.idleTimeoutMilliseconds)
        case .body(let buffer):
            guard phase == .streamingResponse else { return }
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
            bodyActivity = true
        case .end(let trailers):
            guard phase == .streamingResponse else { return }
            phase = .finished
            cancelTimer()
            // Trailer fields go on as the origin sent them, as on the fast path; the encoder
            // drops them when the client's response is not chunked (an HTTP/1.0 client).
            // The upstream connection is reusable only if it carried a whole request and response.
            let reusable = requestEndWritten && connection?.handler.responseKeepAlive == true
            dropConnection(reusable: reusable)
            endInFlight()
            if clientKeepAlive {
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(trailers)), promise: nil)
            } else {
                let channel = context.channel
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(trailers))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
            handler.exchangeFinished(requestComplete: clientEnded)
        }
    }

    /// `101 Switching Protocols`: both connections drop their HTTP handlers and become the two
    /// ends of a byte tunnel. Bytes that already followed the upgrade on either side are passed on.
    private func switchToTunnel(_ head: HTTPResponseHead) {
        phase = .finished
        cancelTimer()
        recordOutcome(nil)
        endInFlight()
        guard let connection else { return }
        self.connection = nil
        connection.handler.delegate = nil
        // What the decoder still delivers for the 101 (its end) must not be taken for stray bytes.
        connection.handler.isSwitchingProtocols = true
        let client = context.channel
        let upstream = connection.channel
        let response = ProxyHeaders.clientResponse(head, region: region.name, strip: settings.removedResponseHeaders)
        handler.requestAnswered(status: 101)
        let loop = context.eventLoop
        let tunnelIdleTimeout = TimeAmount.milliseconds(Int64(settings.tunnelIdleTimeoutMilliseconds))
        let fail: @Sendable (any Error) -> Void = { _ in
            client.close(promise: nil)
            upstream.close(promise: nil)
        }
        // Run after the upstream decoder has returned from delivering this head. Some HTTP
        // handlers leave the pipeline asynchronously, so each step waits for the removals.
        loop.execute {
            let (clientEnd, upstreamEnd) = TunnelHandler.pair(idleTimeout: tunnelIdleTimeout)
            let ends = NIOLoopBound((clientEnd, upstreamEnd), eventLoop: loop)
            client.pipeline.syncOperations.removeAll([
                FrontDoorHandler.self, RequestErrorHandler.self, HTTPServerPipelineHandler.self,
                ConnectionTimeoutHandler.self, HTTPServerUpgradeHandler.self, NIOHTTPResponseHeadersValidator.self,
                HTTPResponseEncoder.self,
            ]).flatMap { () -> EventLoopFuture<Void> in
                client.writeAndFlush(response.serialized, promise: nil)
                return upstream.pipeline.syncOperations.removeAll([UpstreamHandler.self, HTTPRequestEncoder.self])
            }.flatMapThrowing { () -> Void in
                try upstream.pipeline.syncOperations.addHandler(ends.value.1)
                try client.pipeline.syncOperations.addHandler(ends.value.0)
            }.flatMap { () -> EventLoopFuture<Void> in
                // The upstream decoder watches outgoing writes, so it goes before any byte is
                // forwarded to the upstream. Bytes that came with either handshake (first frames)
                // go through the tunnel as the decoders leave.
                upstream.pipeline.syncOperations.removeAll([ByteToMessageHandler<HTTPResponseDecoder>.self])
            }.flatMap { () -> EventLoopFuture<Void> in
                client.pipeline.syncOperations.removeAll([ByteToMessageHandler<HTTPRequestDecoder>.self])
            }.whenComplete { result in
                switch result {
                case .success:
                    // Leftover bytes were written without a read cycle: flush them, then read on.
                    client.flush()
                    upstream.flush()
                    client.read()
                    upstream.read()
                case .failure(let error):
                    fail(error)
                }
            }
        }
    }

    func upstreamReadComplete() {
        if phase == .streamingResponse {
            context.flush()
            if bodyActivity && clientWritable {
                bodyActivity = false
                armTimer(settings.idleTimeoutMilliseconds)
            }
        }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        upstreamWritable = writable
        if writable { handler.resumeClientReads() }
    }

    func upstreamClosed() {
        switch phase {
        case .awaitingResponse:
            recordOutcome(.closedBeforeResponse)
            retryOrFail(timeout: false)
        case .streamingResponse:
            fail(.badGateway)
        case .connecting, .finished:
            break
        }
    }
}
