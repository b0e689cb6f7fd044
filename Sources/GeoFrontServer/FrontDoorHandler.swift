import GeoFrontCore
import GeoIP
import NIOCore
import NIOHTTP1

/// The last handler of every client connection: routes each request and answers it.
///
/// The client IP (peer, or forwarding headers from a trusted proxy) goes through `rate_limit`,
/// then ``RoutingSnapshot/decide(client:)`` (the one routing decision) says what to do: a
/// redirect (`Location` = `redirect_url` + path and query), a 503, or a ``ProxyExchange`` that
/// streams the request to one of the region's upstreams.
final class FrontDoorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a request head.
        case idle
        /// The request was answered locally; its body (if any) is read and discarded.
        case answered
        /// The request is being proxied.
        case proxying(ProxyExchange)
    }

    private let snapshots: NIOLoopBoundBox<RoutingSnapshot>
    private let loop: LoopState
    private let health: ProxyHealthReporter?
    /// The request being answered, for metrics and the access log.
    private var current: RequestRecord?

    private struct RequestRecord {
        let start: NIODeadline
        let client: IPAddress
        let region: String
        let mode: RoutingMode
        let method: HTTPMethod
        let target: String
    }
    private var peer = IPAddress(v4: 0)
    private var state = State.idle
    private var context: ChannelHandlerContext?
    /// A `read` the exchange held back while its upstream could not take more.
    private var readPending = false
    /// The HTTP version of the request being answered.
    private var requestVersion = HTTPVersion.http1_1
    /// Requests on this connection (for `max_requests_per_connection`), including those the
    /// fast path answered before handing the connection over.
    private var requests = 0

    /// Whether this connection came through the TLS listener.
    private let secure: Bool
    /// The TLS listener's bound port, for `tls.redirect_http` (nil without a TLS listener).
    private let httpsPort: Int?
    /// The client's address as the handler before this one knew it (a PROXY header's).
    private let carriedPeer: IPAddress?
    /// The first request came from the fast path, which applied `rate_limit` to it already.
    private var skipRateLimitOnce = false

    init(
        snapshots: NIOLoopBoundBox<RoutingSnapshot>, loop: LoopState, health: ProxyHealthReporter?,
        handOver: FastProxyHandler.HandOver? = nil, secure: Bool = false,
        httpsPort: Int? = nil
    ) {
        self.snapshots = snapshots
        self.loop = loop
        self.health = health
        self.secure = secure
        self.httpsPort = httpsPort
        self.carriedPeer = handOver?.peer
        self.requests = handOver?.answered ?? 0
        self.skipRateLimitOnce = handOver?.rateLimited ?? false
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        peer = carriedPeer ?? IPAddress(context.channel.remoteAddress) ?? IPAddress(v4: 0)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            route(context: context, request: request)
        case .body(let buffer):
            if case .proxying(let exchange) = state { exchange.clientBody(buffer) }
        case .end(let trailers):
            switch state {
            case .proxying(let exchange): exchange.clientEnd(trailers: trailers)
            case .answered: state = .idle
            case .idle: break
            }
        }
    }

    func read(context: ChannelHandlerContext) {
        if case .proxying(let exchange) = state, exchange.holdsClientReads {
            readPending = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let source = event as? ProxyProtocolSource {
            peer = source.address
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .proxying(let exchange) = state { exchange.clientWritabilityChanged(context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .proxying(let exchange) = state { exchange.clientClosed() }
        state = .idle
        context.fireChannelInactive()
    }

    // MARK: - Called by the exchange

    /// The exchange can take more request body: deliver a held `read`.
    func resumeClientReads() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }

    /// The exchange wrote its response end. `requestComplete` is false when the client is still
    /// sending a body nobody will read.
    func exchangeFinished(requestComplete: Bool) {
        state = requestComplete ? .idle : .answered
        resumeClientReads()
    }

    // MARK: - Routing

    private func route(context: ChannelHandlerContext, request: HTTPRequestHead) {
        requestVersion = request.version
        let snapshot = snapshots.value
        requests += 1
        let maxRequests = snapshot.config.server.maxRequestsPerConnection
        var request = request
        if maxRequests > 0 && requests >= maxRequests {
            // The last request this connection may carry: answered with `Connection: close`.
            request.headers.replaceOrAdd(name: "Connection", value: "close")
        }
        let keepAlive = request.isKeepAlive
        state = .answered
        guard request.method != .CONNECT else {
            respond(
                context: context, status: .badRequest, headers: [:], keepAlive: keepAlive, body: "400 Bad Request\n")
            return
        }
        if !secure, let httpsPort, snapshot.config.tls?.redirectHTTP == true {
            // `redirect_http`: the plain listener only sends clients to https://.
            guard
                let location = HTTPSRedirect.location(
                    host: request.headers.first(name: "host"), target: request.uri, httpsPort: httpsPort)
            else {
                respondBadRequest(context: context, keepAlive: keepAlive)
                return
            }
            respond(
                context: context, status: .permanentRedirect,
                headers: ["Location": location, "Cache-Control": "no-store"], keepAlive: keepAlive, body: nil)
            return
        }
        var forwardedFor: [String] = []
        var forwarded: [String] = []
        for (name, value) in request.headers {
            if name.utf8.count == 15, name.lowercased() == "x-forwarded-for" {
                forwardedFor.append(value)
            } else if name.utf8.count == 9, name.lowercased() == "forwarded" {
                forwarded.append(value)
            }
        }
        let start = NIODeadline.now()
        let client = snapshot.clientIPResolver.resolve(peer: peer, xForwardedFor: forwardedFor, forwarded: forwarded)
        let alreadyLimited = skipRateLimitOnce
        skipRateLimitOnce = false
        if !alreadyLimited, let retryAfter = loop.rateLimited(client.address, settings: snapshot.config.rateLimit) {
            // Counted and logged like the fast paths' 429s: no region.
            current = RequestRecord(
                start: start, client: client.address, region: "-", mode: snapshot.uniformMode ?? .proxy,
                method: request.method, target: request.uri)
            respond(
                context: context, status: .tooManyRequests,
                headers: [
                    "Retry-After": String(retryAfter), "Cache-Control": "no-store",
                    "Content-Type": "text/plain; charset=utf-8",
                ],
                keepAlive: keepAlive, body: "429 Too Many Requests\n")
            return
        }
        let decision = snapshot.decide(client: client)
        // Sampled one in 64, as on the fast paths.
        if loop.sampleDecision() {
            loop.metrics.decisionTimer.recordNanoseconds(Int64((NIODeadline.now() - start).nanoseconds))
        }
        loop.countLookup(decision.reasons.lookup)
        let region = snapshot.regions[decision.regionIndex]
        current = RequestRecord(
            start: start, client: decision.client, region: region.name,
            mode: decision.action == .proxy ? .proxy : .redirect, method: request.method, target: request.uri)
        switch decision.action {
        case .unavailable:
            respond(
                context: context, status: .serviceUnavailable,
                headers: ["Retry-After": String(snapshot.retryAfterSeconds), "Cache-Control": "no-store"],
                keepAlive: keepAlive, body: "503 Service Unavailable: no region is available\n")
        case .redirect:
            guard let location = RedirectLocation.build(base: region.redirectBase, target: request.uri) else {
                respond(
                    context: context, status: .badRequest, headers: [:], keepAlive: keepAlive, body: "400 Bad Request\n"
                )
                return
            }
            var headers = HTTPHeaders()
            headers.reserveCapacity(5)
            headers.add(name: "Location", value: location)
            headers.add(name: "Cache-Control", value: "no-store")
            headers.add(name: "X-GeoFront-Region", value: region.name)
            respond(
                context: context, status: HTTPResponseStatus(statusCode: snapshot.config.redirect.status),
                headers: headers, keepAlive: keepAlive, body: nil)
        case .proxy:
            let exchange = ProxyExchange(
                handler: self, context: context, snapshot: snapshot, loop: loop, health: health, request: request,
                peer: peer, peerTrusted: snapshot.clientIPResolver.isTrusted(peer), decision: decision,
                scheme: secure ? "https" : "http")
            state = .proxying(exchange)
            exchange.start()
        }
    }

    private func respondBadRequest(context: ChannelHandlerContext, keepAlive: Bool) {
        respond(
            context: context, status: .badRequest,
            headers: ["Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"], keepAlive: keepAlive,
            body: "400 Bad Request\n")
    }

    /// Counts the answer of the current request and logs it.
    func requestAnswered(status: Int) {
        guard let record = current else { return }
        current = nil
        loop.countRequest(region: record.region, mode: record.mode, status: status)
        loop.logAccess(
            client: record.client, region: record.region, mode: record.mode, method: record.method.rawValue,
            target: record.target, status: status, start: record.start, database: snapshots.value.database)
    }

    /// Writes a complete local answer (redirect, 400, 502, 503, 504).
    func respond(
        context: ChannelHandlerContext, status: HTTPResponseStatus, headers: HTTPHeaders, keepAlive: Bool, body: String?
    ) {
        requestAnswered(status: Int(status.code))
        var headers = headers
        headers.add(name: "Content-Length", value: String(body?.utf8.count ?? 0))
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if requestVersion == .http1_0 {
            // HTTP/1.0 closes by default: say that this connection stays open.
            headers.add(name: "Connection", value: "keep-alive")
        }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if let body {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }
}
