import GeoFrontCore
import GeoIP
import NIOCore

/// The one HTTP/1 front end: a client connection's request path, bytes in and bytes out, on the
/// plain listener and (behind NIOSSL's server handler) on the TLS listener alike, and an HTTP/2
/// stream's: there it has no channel of its own, and its transport is the ``H2ServerStream``
/// (which turns the request's frames into these bytes and the response's bytes into frames).
///
/// Each request head is parsed in place by ``RequestHeadParser`` (as strict as llhttp), routed
/// (client IP → `rate_limit` → ``RoutingSnapshot/decide(client:)``) and then either answered
/// here — a redirect from pre-built bytes, 503, 429, 400/408/431, `tls.redirect_http`'s 308 —
/// with its body read past, or proxied by the connection's ``ProxyExchangeDriver``, which takes
/// the request body as it streams and writes the response back through this handler. Pipelined
/// requests wait their turn and are answered in order; answers are flushed once per socket read.
///
/// Timeouts: `idle_timeout_ms` with nothing in progress; `request_timeout_ms` from a head's first
/// byte to its end (then 408), and as the longest pause inside a body; during an exchange, the
/// deadline its state machine names. One ``DeadlineTimer`` per connection, re-armed lazily.
///
/// Nothing here depends on how the bytes arrive (TCP, TLS, an HTTP/2 stream).
final class HTTP1FrontEnd: ChannelDuplexHandler, RemovableChannelHandler, ExchangeClient {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Phase {
        case awaitingHead
        /// A request answered here: its body is read past.
        case skippingBody(MessageBodyReader)
        /// The exchange has the request: its body (until it ends) goes there, the next request waits.
        case exchange
        /// The connection ends once its last write is out; nothing more is read.
        case closing
        /// `101 Switching Protocols`: bytes go to the upstream until the tunnel replaces this handler.
        case tunnel(any Channel)
        /// Collapsed into another request's fill of the cache: its response is written here as it
        /// arrives (or the request goes upstream after all); the next request waits.
        case following(CacheFollower)
        /// Waiting for `rate_limit.store`'s answer (``HTTP1FrontEnd+RateLimit``); the next request waits.
        case limiting
    }

    let snapshots: NIOLoopBoundBox<RoutingSnapshot>
    let loop: LoopState
    let health: ProxyHealthReporter?
    let secure: Bool
    /// Serves one HTTP/2 stream (``H2ServerStream``).
    var http2 = false
    /// The TLS listener's port, on a plain listener that sends everyone there (`redirect_http`).
    private let httpsPort: Int?
    let limits: ClientConnectionLimits
    /// Made at the first arm (an HTTP/2 stream that is answered at once never needs one).
    var timer: DeadlineTimer?

    /// The channel it serves (an HTTP/1 connection), or else the HTTP/2 stream it serves
    /// (``H2ServerStream``, on its connection's ``H2StreamHost``): its transport either way.
    private(set) var context: ChannelHandlerContext?
    private(set) var stream: H2ServerStream?
    private(set) var peer = IPAddress(v4: 0)
    var buffer: ByteBuffer?
    private(set) var head = RequestHead()
    var phase = Phase.awaitingHead
    private var headStarted = false
    private var requests = 0
    private var quiescing = false
    var readPending = false
    private(set) var clientWritable = true
    /// Inside `process`: a request finishing there does not start the next one itself.
    private var processing = false
    /// Client writes since the last flush.
    var unflushed = false
    /// Made at the first proxied request, reused by the next ones.
    var driver: ProxyExchangeDriver?

    init(
        snapshots: NIOLoopBoundBox<RoutingSnapshot>, loop: LoopState, health: ProxyHealthReporter?,
        settings: ServerSettings, secure: Bool, httpsPort: Int?
    ) {
        self.snapshots = snapshots
        self.loop = loop
        self.health = health
        self.secure = secure
        self.httpsPort = httpsPort
        self.limits = ClientConnectionLimits(settings)
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        peer = IPAddress(context.channel.remoteAddress) ?? IPAddress(v4: 0)
        clientWritable = context.channel.isWritable
        if context.channel.isActive { armIdle() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed()
        self.context = nil
    }

    private func removed() {
        timer?.cancel()
        timer?.action = nil
        driver?.detach()
    }

    func channelActive(context: ChannelHandlerContext) {
        // Added before the connection was up: its address is known now.
        peer = IPAddress(context.channel.remoteAddress) ?? peer
        armIdle()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        ended()
        context.fireChannelInactive()
    }

    /// The client is gone (the connection closed, or the stream ended).
    private func ended() {
        timer?.cancel()
        switch phase {
        case .exchange: driver?.clientClosed()
        case .tunnel(let upstream): upstream.close(promise: nil)  // closed before the tunnel joined
        case .following(let follower): follower.cancel()
        case .awaitingHead, .skippingBody, .closing, .limiting: break
        }
        phase = .closing
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let source = event as? ProxyProtocolSource {
            peer = source.address
            driver?.peerChanged()
            return
        }
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: close now if idle, else after the current response.
            quiescing = true
            if case .exchange = phase { driver?.quiesce() }
            if case .awaitingHead = phase, (buffer?.readableBytes ?? 0) == 0 {
                flushIfNeeded()
                phase = .closing
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(unwrapInboundIn(data))
    }

    /// Bytes from the client: request heads and bodies.
    func receive(_ bytes: ByteBuffer) {
        var incoming = bytes
        switch phase {
        case .closing:
            return
        case .tunnel(let upstream):
            upstream.write(incoming, promise: nil)
            return
        case .exchange:
            if let driver, !driver.requestComplete {
                driver.requestBody(&incoming)
                if incoming.readableBytes == 0 { return }
            }
        case .awaitingHead, .skippingBody, .following, .limiting:
            break
        }
        if buffer == nil {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
        process()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readComplete()
        context.fireChannelReadComplete()
    }

    /// The end of a read from the client: what it caused is flushed, both ways.
    func readComplete() {
        if case .tunnel(let upstream) = phase { upstream.flush() }
        driver?.clientReadComplete()
        flushIfNeeded()
    }

    func read(context: ChannelHandlerContext) {
        readRequested()
    }

    /// A read is asked for (the next one after a read's end): it goes on to the transport unless
    /// the request path holds it (``readPending``, until ``resumeClientReads()``).
    func readRequested() {
        switch phase {
        case .following, .limiting:
            if (buffer?.readableBytes ?? 0) >= limits.maxHeadBytes {
                readPending = true
                return
            }
        default:
            break
        }
        if case .exchange = phase {
            // A body waits for its connection and for room upstream; a pipelined backlog is capped.
            let bodyBlocked = driver?.holdsClientReads ?? false
            if bodyBlocked || (buffer?.readableBytes ?? 0) >= limits.maxHeadBytes {
                readPending = true
                return
            }
        }
        transportRead()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    /// The client can take more bytes now, or cannot.
    func writabilityChanged(_ writable: Bool) {
        clientWritable = writable
        if case .exchange = phase { driver?.clientWritabilityChanged(clientWritable) }
    }

    // MARK: - An HTTP/2 stream

    /// Serves `stream` instead of a channel of its own, for the client at `peer`.
    func attach(to stream: H2ServerStream, peer: IPAddress) {
        self.stream = stream
        self.peer = peer
        http2 = true
    }

    /// The stream ended (either side reset it, it closed, or the connection did): as a channel's
    /// end and removal.
    func streamEnded() {
        ended()
        removed()
        stream = nil
    }

    // MARK: - Requests

    /// Works through the buffered bytes while nothing else has the connection.
    func process() {
        guard !processing, let allocator else { return }
        processing = true
        defer {
            processing = false
            // Called from an upstream's read (the previous exchange ended), nothing else would
            // flush what was answered here, or a body that followed the next head upstream; from
            // a client read this is the batch's flush anyway.
            driver?.clientReadComplete()
            flushIfNeeded()
        }
        while var current = buffer, current.readableBytes > 0 {
            buffer = nil  // keep the storage uniquely referenced while it is worked on
            defer {
                if current.readableBytes > 0 {
                    if current.readerIndex > 65_536 { current.discardReadBytes() }
                    buffer = current
                }
            }
            switch phase {
            case .exchange, .tunnel, .following, .limiting:
                return
            case .closing:
                current.moveReaderIndex(to: current.writerIndex)
                return
            case .skippingBody(var body):
                let outcome = current.withUnsafeReadableBytes { bytes in
                    Result { () throws(RequestHeadError) in try body.consume(bytes) }
                }
                switch outcome {
                case .success(.needMore):
                    current.moveReaderIndex(to: current.writerIndex)
                    phase = .skippingBody(body)
                    arm(limits.requestTimeout)
                    return
                case .success(.done(let consumed)):
                    current.moveReaderIndex(forwardBy: consumed)
                    requestDone()
                case .failure:
                    // The request was answered already: just end the connection.
                    current.moveReaderIndex(to: current.writerIndex)
                    close()
                    return
                }
            case .awaitingHead:
                let outcome = current.withUnsafeReadableBytes { bytes in
                    Result { () throws(RequestHeadError) -> Bool in
                        guard try RequestHeadParser.parse(bytes, limit: limits.maxHeadBytes, into: &head) == .complete
                        else { return false }
                        route(bytes, allocator: allocator)
                        return true
                    }
                }
                switch outcome {
                case .success(false):
                    // The head's deadline runs from its first byte (re-reads do not extend it).
                    if !headStarted {
                        headStarted = true
                        arm(limits.requestTimeout)
                    }
                    return
                case .success(true):
                    headStarted = false
                    current.moveReaderIndex(forwardBy: head.length)
                    if case .exchange = phase, let driver, !driver.requestComplete, current.readableBytes > 0 {
                        driver.requestBody(&current)
                    }
                case .failure(let error):
                    current.moveReaderIndex(to: current.writerIndex)
                    refuse(error == .tooLarge ? 431 : 400)
                    return
                }
            }
        }
    }

    /// A request answered here has been read whole (head and body).
    private func requestDone() {
        if case .closing = phase { return }
        phase = .awaitingHead
        if quiescing {
            close()
            return
        }
        armIdle()
    }

    /// Routes one complete request head (in `bytes`) and answers it or starts its exchange.
    private func route(_ bytes: UnsafeRawBufferPointer, allocator: ByteBufferAllocator) {
        if head.isConnect {
            refuse(400)
            return
        }
        let snapshot = snapshots.value
        requests += 1
        if http2 { loop.h2Requests &+= 1 } else { loop.http1Requests &+= 1 }
        let close = head.closeRequested || quiescing || (limits.maxRequests > 0 && requests >= limits.maxRequests)
        if !secure, let httpsPort, snapshot.config.tls?.redirectHTTP == true {
            answer(LocalAnswers.toHTTPS(bytes, head: head, httpsPort: httpsPort, close: close, allocator), close: close)
            return
        }
        let sampled = loop.sampleDecision() || loop.accessLog != nil
        let start = sampled ? NIODeadline.now() : NIODeadline.uptimeNanoseconds(0)
        let client = snapshot.clientIPResolver.resolve(
            peer: peer, xForwardedFor: head.forwardedFor, forwarded: head.forwarded, in: bytes)
        // Strings only when an access log wants them.
        let logged: (method: String, target: String)? =
            loop.accessLog == nil ? nil : (Self.text(bytes, head.method), Self.text(bytes, head.target))
        if let limit = snapshot.config.rateLimit,
            limited(bytes, client: client, limit, snapshot, close: close, logged: logged, start: start, allocator)
        {
            return
        }
        decide(
            bytes, client: client, snapshot: snapshot, close: close, logged: logged, start: start, sampled: sampled,
            allocator)
    }

    /// Routes a request `rate_limit` let through, and answers it or starts its exchange.
    func decide(
        _ bytes: UnsafeRawBufferPointer, client: ClientIP, snapshot: RoutingSnapshot, close: Bool,
        logged: (method: String, target: String)?, start: NIODeadline, sampled: Bool, _ allocator: ByteBufferAllocator
    ) {
        var decision =
            snapshot.routes == nil
            ? snapshot.decide(client: client, cache: &loop.lookupCache)
            : snapshot.decide(
                client: client, request: RouteRequest(head: head, bytes: bytes), in: bytes, random: loop.nextRandom(),
                cache: &loop.lookupCache)
        let affinityCookie =
            snapshot.affinity == nil ? nil : AffinityCookies.apply(snapshot, &decision, head, bytes, secure: secure)
        if sampled { loop.metrics.decisionTimer.recordNanoseconds(Int64((NIODeadline.now() - start).nanoseconds)) }
        loop.countLookup(decision.reasons.lookup)
        if let load = snapshot.regionLoad, decision.action == .redirect || decision.action == .proxy {
            load.sent(snapshot.regionOrdinals[decision.regionIndex], second: RegionLoad.currentSecond)
            if let from = decision.spilledFrom {
                loop.countSpillover(snapshot: snapshot, from: from, to: decision.regionIndex)
            }
        }
        // The region's name, read in place: the entry itself is not copied (a copy retains each of its
        // configuration's strings and arrays).
        let regionName = snapshot.regions[decision.regionIndex].name
        let target = head.target.bytes(in: bytes)
        switch decision.action {
        case .notFound:
            loop.countRequest(region: "-", mode: snapshot.uniformMode ?? .proxy, status: 404)
            log(
                logged, client: decision.client, region: "-", mode: snapshot.uniformMode ?? .proxy, status: 404,
                start: start)
            answer(
                LocalResponses.failure(allocator, status: 404, keepAlive: !close, grpcCall: head.isGRPC), close: close)
        case .unavailable:
            // Every region down: a stored response may still answer, unless a traffic policy refused the client.
            if decision.policy == nil, snapshot.regions[decision.regionIndex].config.mode == .proxy,
                answeredFromCacheWhenUnavailable(
                    bytes, decision, snapshot, affinityCookie, close: close, logged: logged, start: start,
                    allocator)
            {
                return
            }
            loop.countRequest(region: regionName, mode: .redirect, status: 503)
            log(
                logged, client: decision.client, region: regionName, mode: .redirect, status: 503, start: start,
                policy: decision.policy)
            if head.isGRPC {
                answer(LocalResponses.grpc(allocator, status: 503, keepAlive: !close), close: close)
                return
            }
            let responses = loop.redirectResponses(for: snapshot)
            answer(LocalAnswers.unavailable(responses, close: close, allocator), close: close)
        case .redirect:
            guard let path = RedirectLocation.pathAndQuery(of: target) else {
                refuse(400, keepAlive: !close)
                return
            }
            let status = snapshot.config.redirect.status
            loop.countRedirect(snapshot: snapshot, index: decision.regionIndex, status: status)
            log(
                logged, client: decision.client, region: regionName, mode: .redirect, status: status, start: start,
                policy: decision.policy)
            let responses = loop.redirectResponses(for: snapshot)
            let regionIndex = decision.regionIndex
            withRoutedPath(path, decision, snapshot) { path in
                if stream != nil, affinityCookie == nil {
                    // HTTP/2: the same fields, as they are (no HTTP/1.1 head printed and parsed again).
                    writeBodilessHead(status: responses.status) { fields in
                        fields.add(name: "location", value: responses.location(region: regionIndex, path: path))
                        for field in responses.fields[regionIndex] { fields.add(name: field.name, value: field.value) }
                    }
                    answerWritten(close: close)
                } else {
                    answer(
                        LocalAnswers.redirect(
                            responses, region: regionIndex, path: path, close: close, http10: head.version == .http10,
                            setCookie: affinityCookie, allocator), close: close)
                }
            }
        case .proxy:
            guard let path = RedirectLocation.pathAndQuery(of: target) else {
                refuse(400, keepAlive: !close)
                return
            }
            let (answered, forward) = cacheTurn(
                bytes, path: path, decision, snapshot, affinityCookie, close: close, logged: logged, start: start,
                allocator)
            if answered { return }
            if driver == nil { driver = ProxyExchangeDriver(frontEnd: self) }
            phase = .exchange
            timer?.disarm()
            let driver = driver!
            withRoutedPath(path, decision, snapshot) { path in
                driver.start(
                    head: head, bytes, path: path, decision: decision, snapshot: snapshot, close: close,
                    logged: logged.map { (start, $0.method, $0.target) }, affinityCookie: affinityCookie,
                    cache: forward, allocator: allocator)
            }
        }
    }

    /// Calls `body` with the path and query the answer uses: the request's, or its route's
    /// rewrite of it (made in the loop's scratch buffer).
    func withRoutedPath<Result>(
        _ path: UnsafeRawBufferPointer, _ decision: RoutingDecision, _ snapshot: RoutingSnapshot,
        _ body: (UnsafeRawBufferPointer) -> Result
    ) -> Result {
        guard let route = decision.route, let rewrite = snapshot.routeActions[route].rewrite else { return body(path) }
        rewrite.apply(path, into: &loop.rewrittenPath)
        return loop.rewrittenPath.withUnsafeBytes(body)
    }

    func log(
        _ logged: (method: String, target: String)?, client: IPAddress, region: String, mode: RoutingMode, status: Int,
        start: NIODeadline, policy: Int? = nil, cache: CacheResult? = nil
    ) {
        guard let logged else { return }
        let snapshot = snapshots.value
        loop.logAccess(
            client: client, region: region, mode: mode, method: logged.method, target: logged.target, status: status,
            start: start, database: snapshot.database, policy: policy.map { snapshot.policies.policies[$0].name },
            cache: cache?.label, http2: http2)
    }

    /// Queues an answer made here; the request's body (if any) is read past before the next one.
    func answer(_ out: ByteBuffer, close: Bool) {
        write(out)
        answerWritten(close: close)
    }

    /// A local answer is written: the connection closes after it, or the request's body (if any)
    /// is read past and the next request awaited.
    func answerWritten(close: Bool) {
        if close {
            closeAfterWrites()
            return
        }
        let body = MessageBodyReader(request: head.body)
        if body.isDone {
            requestDone()
        } else {
            phase = .skippingBody(body)
        }
    }

    /// 400, 408 or 431, with `Connection: close` unless `keepAlive`.
    func refuse(_ status: Int, keepAlive: Bool = false) {
        guard let allocator else { return }
        loop.countRequest(region: "-", mode: snapshots.value.uniformMode ?? .proxy, status: status)
        answer(LocalResponses.plain(allocator, status: status, keepAlive: keepAlive), close: !keepAlive)
    }

    // MARK: - Called by the exchange

    /// The exchange is over (its answer written): the next request, or the connection's end.
    func exchangeFinished(closeClient: Bool) {
        guard case .exchange = phase else { return }
        requestFinished(closeClient: closeClient)
    }

    /// A collapsed request's answer is whole (``CacheFollower``).
    func followingFinished(closeClient: Bool) {
        guard case .following = phase else { return }
        requestFinished(closeClient: closeClient)
    }

    private func requestFinished(closeClient: Bool) {
        if closeClient {
            closeAfterWrites()
            return
        }
        phase = .awaitingHead
        // The upstream connection is back in its pool and no longer reports its read's end: the
        // response goes out now (inside `process` the client's read end flushes instead).
        if !processing { flushIfNeeded() }
        if quiescing && (buffer?.readableBytes ?? 0) == 0 {
            close()
            return
        }
        armIdle()
        resumeClientReads()
        process()
    }

    /// The response was cut short: the client must not take it for whole.
    func cut() {
        timer?.cancel()
        phase = .closing
        closeTransport()
    }

    /// The exchange can take more request body: deliver a held `read`.
    func resumeClientReads() {
        guard readPending, isAttached else { return }
        readPending = false
        transportRead()
    }

    // MARK: - Bytes

    static func text(_ bytes: UnsafeRawBufferPointer, _ span: RequestHead.Span) -> String {
        String(decoding: span.bytes(in: bytes), as: UTF8.self)
    }
}

extension Result where Failure == RequestHeadError {
    /// Typed-throws bodies as a `Result` (the parsers throw ``RequestHeadError`` only).
    fileprivate init(_ body: () throws(RequestHeadError) -> Success) {
        do { self = .success(try body()) } catch { self = .failure(error) }
    }
}
