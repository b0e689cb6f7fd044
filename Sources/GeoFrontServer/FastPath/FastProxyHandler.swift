import GeoFrontCore
import GeoIP
import NIOCore

/// A client connection's whole pipeline when every region proxies: bytes in, bytes out.
///
/// The common request — HTTP/1.1, no body or a `Content-Length` one, no `Expect`, no upgrade — is
/// proxied on bytes: the head is parsed in place by ``RequestHeadParser``, routed (client IP →
/// `rate_limit` → ``RoutingSnapshot/decide(client:)`` → the region's balancer), and its field lines are copied to the
/// upstream with the same edits as the general path's ``ProxyHeaders`` (hop-by-hop fields out;
/// `X-Forwarded-For`, `Forwarded`, `X-Forwarded-Proto`/`-Host`, `Via` and `Host` as configured).
/// The upstream's response head is parsed in place by ``ResponseHeadParser`` and copied back with
/// its hop-by-hop and stripped fields left out and `X-GeoFront-Region` added; the body is
/// forwarded as it arrives, its end found from its framing (length, chunked — kept chunked —, or
/// the upstream closing). No `HTTPHeaders`, no NIOHTTP1 parts, one timer per connection.
///
/// A request body streams to the upstream as it arrives (client reads held while connecting or
/// while the upstream cannot take more).
///
/// Retries as on the general path: before any response byte, the next upstream, then the
/// next-nearest region, up to `max_attempts` — a request that reached an upstream only when it is
/// idempotent and its body (at most 64 KiB) was kept; 502 (or 504 on a timeout) when none is
/// left; a response cut short cuts the client's.
///
/// Anything else (a chunked body, `Expect`, an upgrade, HTTP/1.0, a refused or redirect region)
/// hands the connection over, from that request on, to the general
/// NIOHTTP1 pipeline (``FrontDoorHandler``), which is installed behind this handler and given the
/// bytes not yet answered; this handler then leaves.
final class FastProxyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What the general pipeline takes over from the fast path.
    struct HandOver {
        /// The client's address (a PROXY header's, if any).
        var peer: IPAddress
        /// Requests answered on the connection so far.
        var answered = 0
        /// The first request it gets has been through `rate_limit` already.
        var rateLimited = false
    }

    /// Installs the general pipeline behind the fast path's handler.
    typealias GeneralPathInstaller = @Sendable (ChannelPipeline.SynchronousOperations, HandOver) throws -> Void

    private enum Phase {
        case awaitingHead
        /// Waiting for a connection to the current attempt's upstream.
        case connecting
        /// The request went upstream; its response head has not arrived whole.
        case awaitingResponse
        case streaming(ResponseBody)
        /// The connection ends once its last write is out; nothing more is read.
        case closing
        /// The general pipeline serves the connection from here on.
        case handedOver
    }

    private enum ResponseBody {
        case length(remaining: Int)
        case chunked(ChunkedBodySkipper)
        case untilClose
    }

    /// Why a connection left the fast path (the `reason` of `geofront_fast_path_handovers_total`).
    enum HandOverReason: String, CaseIterable, Sendable {
        /// HTTP/1.0.
        case version
        /// A chunked request body.
        case body
        /// `Expect`, an upgrade, too many `Connection` names, or a target the fast path does not
        /// rewrite.
        case request
        /// A refused region (503) or one that redirects (after a reload).
        case region
    }

    /// The request being handed over has taken its `rate_limit` token here already.
    private var handOverRateLimited = false

    private enum Decision {
        case proxy
        case handOver(HandOverReason)
        case refuse(Int)
        case tooManyRequests(retryAfter: Int)
    }

    /// A body at most this long that arrives with its head is copied behind it (one write).
    static let smallBody = 8 * 1024

    /// Bytes of an upstream's response head at most (a larger one is a broken upstream: 502).
    static let maxResponseHeadBytes = 64 * 1024

    private let snapshots: NIOLoopBoundBox<RoutingSnapshot>
    private let loop: LoopState
    private let health: ProxyHealthReporter?
    private let installGeneralPath: GeneralPathInstaller
    private let secure: Bool

    private var context: ChannelHandlerContext?
    private var peer = IPAddress(v4: 0)
    /// The peer's `X-Forwarded-For` text and `Forwarded` `for=` value, made once per connection.
    private var peerText: [UInt8] = []
    private var peerNode: [UInt8] = []
    private var buffer: ByteBuffer?
    private var head = RequestHead()
    private var phase = Phase.awaitingHead
    private let limits: ClientConnectionLimits
    private let timer: DeadlineTimer
    private var headStarted = false
    private var requests = 0
    private var quiescing = false
    private var readPending = false
    private var clientWritable = true
    /// Inside `process`: a request finishing there does not start the next one itself.
    private var processing = false
    /// Client writes since the last flush.
    private var unflushed = false

    // The current exchange.
    private var snapshot: RoutingSnapshot?
    private var attempts = UpstreamAttempts(regionIndex: 0)
    private var coordinate: Coordinate?
    private var client = IPAddress(v4: 0)
    private var regionName: [UInt8] = []
    /// The upstream request of the current exchange (kept for retries).
    private var upstreamHead = ByteBuffer()
    /// The upstream head still needs `Host` (the upstream's address) and its final CRLF.
    private var hostFromUpstream = false
    private var isHEAD = false
    private var closeAfter = false
    private var connection: UpstreamConnection<ByteUpstreamHandler>?
    private var response: ByteBuffer?
    private var responseHead = ResponseHead()
    private var upstreamReusable = true
    /// Request body bytes still to come from the client (a `Content-Length` body).
    private var bodyRemaining = 0
    /// Body parts not yet written to the current upstream connection, and, for a replayable
    /// request, all parts so far (written again on a retry).
    private var bodyParts: [ByteBuffer] = []
    /// The request may go to another upstream after reaching one: idempotent, body ≤ 64 KiB.
    private var replayable = true
    /// The request reached an upstream (its head was written to a connection).
    private var requestSent = false
    private var upstreamWritable = true
    /// Body bytes were written upstream since the client's last read completed.
    private var upstreamUnflushed = false
    private var inFlight = false
    private var outcomeRecorded = false
    private var attemptStart = NIODeadline.uptimeNanoseconds(0)
    private var logged: (start: NIODeadline, method: String, target: String)?
    /// Per snapshot: region names and the removed response fields (lower case) as bytes.
    private var bytesFor: (snapshot: RoutingSnapshot?, regionNames: [[UInt8]], strip: [[UInt8]]) = (nil, [], [])
    /// Reused between requests: the request's `Via` values.
    private var via: [RequestHead.Span] = []

    init(
        snapshots: NIOLoopBoundBox<RoutingSnapshot>, loop: LoopState, health: ProxyHealthReporter?,
        settings: ServerSettings, secure: Bool, installGeneralPath: @escaping GeneralPathInstaller
    ) {
        self.snapshots = snapshots
        self.loop = loop
        self.health = health
        self.secure = secure
        self.installGeneralPath = installGeneralPath
        self.limits = ClientConnectionLimits(settings)
        self.timer = DeadlineTimer(timers: loop.timers)
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Cleared in handlerRemoved, which ends the cycle through `context`.
        timer.action = { [unowned self] in self.timedOut(context: context) }
        setPeer(IPAddress(context.channel.remoteAddress) ?? IPAddress(v4: 0))
        clientWritable = context.channel.isWritable
        if context.channel.isActive { arm(limits.idleTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.cancel()
        timer.action = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(limits.idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .handedOver = phase {
            context.fireChannelInactive()
            return
        }
        timer.cancel()
        phase = .closing
        dropConnection(reusable: false)
        endInFlight()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .handedOver = phase {
            context.fireErrorCaught(error)
            return
        }
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handedOver = phase {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if let source = event as? ProxyProtocolSource {
            setPeer(source.address)
            return
        }
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: close now if idle, else after the current response.
            quiescing = true
            closeAfter = true
            if case .awaitingHead = phase, (buffer?.readableBytes ?? 0) == 0 {
                flushIfNeeded()
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .handedOver:
            context.fireChannelRead(data)
        case .closing:
            return
        case .awaitingHead:
            append(unwrapInboundIn(data))
            process()
        case .connecting, .awaitingResponse, .streaming:
            var incoming = unwrapInboundIn(data)
            if bodyRemaining > 0 { takeBody(&incoming) }
            // What follows is a pipelined request: it waits its turn (reads stop while too much waits).
            if incoming.readableBytes > 0 { append(incoming) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .handedOver = phase {
            context.fireChannelReadComplete()
            return
        }
        if upstreamUnflushed {
            upstreamUnflushed = false
            connection?.channel.flush()
        }
        flushIfNeeded()
    }

    func read(context: ChannelHandlerContext) {
        switch phase {
        case .connecting, .awaitingResponse, .streaming:
            // A body waits for its connection and for room upstream; a pipelined backlog is capped.
            let bodyBlocked = bodyRemaining > 0 && (connection == nil || !upstreamWritable)
            if bodyBlocked || (buffer?.readableBytes ?? 0) >= limits.maxHeadBytes {
                readPending = true
                return
            }
        case .awaitingHead, .closing, .handedOver:
            break
        }
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .handedOver = phase {
            context.fireChannelWritabilityChanged()
            return
        }
        clientWritable = context.channel.isWritable
        guard let connection else { return }
        if clientWritable {
            connection.handler.resumeReads()
            if case .streaming = phase { arm(Self.milliseconds(snapshot?.config.proxy.idleTimeoutMilliseconds)) }
        } else {
            connection.handler.pauseReads()
            // The upstream is silent because it is not being read, not because it stalled.
            if case .streaming = phase { timer.disarm() }
        }
    }

    private func setPeer(_ address: IPAddress) {
        peer = address
        let text = address.description
        peerText = Array(text.utf8)
        peerNode = address.family == .v6 ? Array("\"[\(text)]\"".utf8) : peerText
    }

    private func append(_ incoming: ByteBuffer) {
        var incoming = incoming
        if buffer == nil {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
    }

    // MARK: - Requests

    /// Takes the next request head from the buffer, while nothing is in progress.
    private func process() {
        guard !processing, let context else { return }
        processing = true
        defer {
            processing = false
            // Called from an upstream's read (the previous exchange ended), nothing else would
            // flush what was answered here; from a client read this is the batch's flush anyway.
            flushIfNeeded()
        }
        while case .awaitingHead = phase, var current = buffer, current.readableBytes > 0 {
            buffer = nil  // keep the storage uniquely referenced while it is worked on
            let outcome: Result<Decision?, RequestHeadError> = current.withUnsafeReadableBytes { bytes in
                do throws(RequestHeadError) {
                    guard try RequestHeadParser.parse(bytes, limit: limits.maxHeadBytes, into: &head) == .complete
                    else {
                        return .success(nil)
                    }
                    return .success(decide(bytes, allocator: context.channel.allocator))
                } catch {
                    return .failure(error)
                }
            }
            switch outcome {
            case .success(nil):
                buffer = current
                // The head's deadline runs from its first byte (re-reads do not extend it).
                if !headStarted {
                    headStarted = true
                    arm(limits.requestTimeout)
                }
                return
            case .success(.handOver(let reason)):
                buffer = current
                loop.metrics.handOvers[reason]?.increment()
                handOver(context: context)
                return
            case .success(.proxy):
                headStarted = false
                current.moveReaderIndex(forwardBy: head.length)
                if bodyRemaining > 0 { takeBody(&current) }
                if current.readableBytes > 0 {
                    if current.readerIndex > 65_536 { current.discardReadBytes() }
                    buffer = current
                }
                requests += 1
                attempt()
            case .success(.refuse(let status)):
                refuse(status)
                return
            case .success(.tooManyRequests(let retryAfter)):
                headStarted = false
                current.moveReaderIndex(forwardBy: head.length)
                if current.readableBytes > 0 { buffer = current }
                requests += 1  // counted and logged where the limit was applied (decide)
                let close = closeAfter
                write(
                    FastPathResponses.tooManyRequests(context.channel.allocator, retryAfter: retryAfter, close: close))
                if close { closeAfterWrites() } else { arm(limits.idleTimeout) }
            case .failure(let error):
                refuse(error == .tooLarge ? 431 : 400)
                return
            }
        }
    }

    /// Routes a complete request head and, when the fast path takes it, prepares its upstream head.
    private func decide(_ bytes: UnsafeRawBufferPointer, allocator: ByteBufferAllocator) -> Decision {
        if head.isConnect { return .refuse(400) }
        let method = UnsafeRawBufferPointer(
            rebasing: bytes[head.method.start..<(head.method.start + head.method.count)])
        let isHEAD =
            method.count == 4 && method[0] == UInt8(ascii: "H") && method[1] == UInt8(ascii: "E")
            && method[2] == UInt8(ascii: "A") && method[3] == UInt8(ascii: "D")
        guard head.version == .http11 else { return .handOver(.version) }
        var bodyLength = 0
        switch head.body {
        case .none: break
        case .contentLength(let length): bodyLength = length
        case .chunked: return .handOver(.body)
        }
        guard !head.hasExpect, !head.connectionNamesOverflow,
            !head.connectionNames.contains(where: { FieldLines.equals(bytes, $0, "upgrade") })
        else { return .handOver(.request) }
        let target = UnsafeRawBufferPointer(
            rebasing: bytes[head.target.start..<(head.target.start + head.target.count)])
        guard let path = RedirectLocation.pathAndQuery(of: target) else { return .handOver(.request) }

        let snapshot = snapshots.value
        let sampled = loop.sampleDecision() || loop.accessLog != nil
        let start = sampled ? NIODeadline.now() : NIODeadline.uptimeNanoseconds(0)
        let resolved = snapshot.clientIPResolver.resolve(
            peer: peer, xForwardedFor: head.forwardedFor, forwarded: head.forwarded, in: bytes)
        let close = head.closeRequested || quiescing || (limits.maxRequests > 0 && requests + 1 >= limits.maxRequests)
        if let retryAfter = loop.rateLimited(resolved.address, settings: snapshot.config.rateLimit) {
            closeAfter = close
            loop.countTooManyRequests(
                client: resolved.address, mode: .proxy,
                logged: loop.accessLog == nil
                    ? nil : (String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self)),
                start: start, database: snapshot.database)
            return .tooManyRequests(retryAfter: retryAfter)
        }
        let decision = snapshot.decide(client: resolved)
        guard decision.action == .proxy, !snapshot.regions[decision.regionIndex].config.upstreams.isEmpty else {
            // The general path answers these (503, or a redirect region after a reload); its own
            // decision repeats this one, so nothing is counted here, and it skips the rate limit
            // this request has been through.
            handOverRateLimited = true
            return .handOver(.region)
        }
        if sampled { loop.metrics.decisionTimer.recordNanoseconds(Int64((NIODeadline.now() - start).nanoseconds)) }
        loop.countLookup(decision.reasons.lookup)

        self.snapshot = snapshot
        self.coordinate = decision.coordinate
        self.client = decision.client
        self.attempts = UpstreamAttempts(regionIndex: decision.regionIndex)
        self.regionName = snapshotBytes(for: snapshot).regionNames[decision.regionIndex]
        self.isHEAD = isHEAD
        self.closeAfter = close
        self.bodyRemaining = bodyLength
        self.bodyParts.removeAll()
        self.requestSent = false
        self.replayable = bodyLength <= ProxyExchange.replayLimit && Self.isIdempotent(method)
        self.logged =
            loop.accessLog == nil
            ? nil
            : (start, String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self))
        writeUpstreamHead(bytes, method: method, path: path, snapshot: snapshot, allocator: allocator)
        return .proxy
    }

    /// The request the upstream sees (``ProxyHeaders/upstreamRequest`` on bytes): the client's field
    /// lines in order, minus hop-by-hop ones and those rebuilt here.
    private func writeUpstreamHead(
        _ bytes: UnsafeRawBufferPointer, method: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer,
        snapshot: RoutingSnapshot, allocator: ByteBufferAllocator
    ) {
        let trusted = snapshot.clientIPResolver.isTrusted(peer)
        var out = allocator.buffer(capacity: head.length + 256)
        out.writeBytes(method)
        out.writeStaticString(" ")
        if path.first != UInt8(ascii: "/") { out.writeStaticString("/") }
        out.writeBytes(path)
        out.writeStaticString(" HTTP/1.1\r\n")
        var index = head.target.start + head.target.count + 11  // " HTTP/1.x\r\n"
        var host: RequestHead.Span?
        var keptProto = false
        var keptHost = false
        via.removeAll(keepingCapacity: true)
        while let field = try? FieldLines.next(bytes, at: &index, end: head.length) {
            let name = field.name
            var copy = !HopByHop.contains(bytes, name)
            switch name.count {
            case 3:
                if FieldLines.equals(bytes, name, "via") {
                    via.append(field.value)
                    copy = false
                }
            case 4:
                if FieldLines.equals(bytes, name, "host") {
                    host = field.value
                    copy = false
                }
            case 9: copy = !FieldLines.equals(bytes, name, "forwarded")
            case 15: copy = !FieldLines.equals(bytes, name, "x-forwarded-for")
            case 16:
                if FieldLines.equals(bytes, name, "x-forwarded-host") {
                    copy = trusted
                    keptHost = trusted
                }
            case 17:
                if FieldLines.equals(bytes, name, "x-forwarded-proto") {
                    copy = trusted
                    keptProto = trusted
                }
            default: break
            }
            if copy, HopByHop.isNamed(bytes, name, in: head.connectionNames) { copy = false }
            if copy {
                out.writeBytes(
                    UnsafeRawBufferPointer(rebasing: bytes[field.line.start..<(field.line.start + field.line.count)]))
            }
        }
        // X-Forwarded-For and Forwarded: the trusted chain extended, else only the peer.
        out.writeStaticString("X-Forwarded-For: ")
        let firstForwardedFor = head.forwardedFor.first
        if trusted, let firstForwardedFor, firstForwardedFor.count > 0 {
            for (offset, value) in head.forwardedFor.enumerated() {
                if offset > 0 { out.writeStaticString(", ") }
                out.writeBytes(Self.slice(bytes, value))
            }
            out.writeStaticString(", ")
        }
        out.writeBytes(peerText)
        out.writeStaticString("\r\nForwarded: ")
        if trusted, !head.forwarded.isEmpty {
            for value in head.forwarded {
                out.writeBytes(Self.slice(bytes, value))
                out.writeStaticString(", ")
            }
        }
        out.writeStaticString("for=")
        out.writeBytes(peerNode)
        if let host, host.count > 0 {
            let value = Self.slice(bytes, host)
            if !value.contains(UInt8(ascii: "\"")) && !value.contains(UInt8(ascii: "\\")) {
                out.writeStaticString(";host=")
                if value.allSatisfy(Self.isForwardedTokenByte) {
                    out.writeBytes(value)
                } else {
                    out.writeStaticString("\"")
                    out.writeBytes(value)
                    out.writeStaticString("\"")
                }
            }
        }
        out.writeStaticString(secure ? ";proto=https\r\n" : ";proto=http\r\n")
        if !keptProto { out.writeStaticString(secure ? "X-Forwarded-Proto: https\r\n" : "X-Forwarded-Proto: http\r\n") }
        if !keptHost, let host {
            out.writeStaticString("X-Forwarded-Host: ")
            out.writeBytes(Self.slice(bytes, host))
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("Via: ")
        for value in via {
            out.writeBytes(Self.slice(bytes, value))
            out.writeStaticString(", ")
        }
        out.writeStaticString("1.1 geofront\r\n")
        hostFromUpstream = false
        switch snapshot.config.proxy.hostHeader {
        case .client:
            if let host {
                out.writeStaticString("Host: ")
                out.writeBytes(Self.slice(bytes, host))
                out.writeStaticString("\r\n\r\n")
            } else {
                hostFromUpstream = true
            }
        case .upstream:
            hostFromUpstream = true
        case .fixed(let value):
            out.writeStaticString("Host: ")
            out.writeString(value)
            out.writeStaticString("\r\n\r\n")
        }
        upstreamHead = out
    }

    // MARK: - Attempts

    private func attempt() {
        guard let snapshot, let context else { return }
        guard let next = attempts.next(snapshot: snapshot, loop: loop, coordinate: coordinate) else {
            answerError(502)
            return
        }
        regionName = snapshotBytes(for: snapshot).regionNames[attempts.regionIndex]
        inFlight = true
        outcomeRecorded = false
        attemptStart = .now()
        phase = .connecting
        timer.disarm()  // connect_timeout_ms is the connection's own
        let upstream = snapshot.regions[attempts.regionIndex].config.upstreams[next]
        if let connection = loop.bytePool.takeIdle(upstream) {
            connected(connection)
            return
        }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        loop.bytePool.connect(upstream, settings: snapshot.config.proxy).whenComplete { result in
            let handler = bound.value
            switch result {
            case .success(let connection): handler.connected(connection)
            case .failure(let error): handler.connectFailed(error)
            }
        }
    }

    private func connected(_ connection: UpstreamConnection<ByteUpstreamHandler>) {
        guard case .connecting = phase, let snapshot else {
            loop.bytePool.release(connection, reusable: true, settings: snapshots.value.config.proxy)
            return
        }
        self.connection = connection
        connection.handler.delegate = self
        if !clientWritable { connection.handler.pauseReads() }
        phase = .awaitingResponse
        response = nil
        if hostFromUpstream {
            connection.channel.write(upstreamHead, promise: nil)
            var host = connection.channel.allocator.buffer(capacity: 64)
            host.writeStaticString("Host: ")
            host.writeString(connection.upstream.address.description)
            host.writeStaticString("\r\n\r\n")
            connection.channel.writeAndFlush(host, promise: nil)
        } else {
            connection.channel.write(upstreamHead, promise: nil)
        }
        requestSent = true
        for part in bodyParts { connection.channel.write(part, promise: nil) }
        if !replayable { bodyParts.removeAll() }
        connection.channel.flush()
        upstreamWritable = connection.channel.isWritable
        if bodyRemaining > 0 {
            // The response timeout starts once the whole request is out; until then the body's
            // own pauses are limited by request_timeout_ms.
            arm(limits.requestTimeout)
            resumeClientReads()
        } else {
            arm(Self.milliseconds(snapshot.config.proxy.responseTimeoutMilliseconds))
        }
    }

    /// Body bytes from the client: to the upstream if connected (kept too when replayable), else
    /// kept until the connection is ready.
    private func takeBody(_ incoming: inout ByteBuffer) {
        let take = min(bodyRemaining, incoming.readableBytes)
        guard take > 0, let part = incoming.readSlice(length: take) else { return }
        bodyRemaining -= take
        if let connection {
            connection.channel.write(part, promise: nil)
            upstreamUnflushed = true
            if replayable { bodyParts.append(part) }
        } else {
            bodyParts.append(part)
        }
        guard let snapshot else { return }
        if bodyRemaining > 0 {
            arm(limits.requestTimeout)
        } else if case .awaitingResponse = phase {
            arm(Self.milliseconds(snapshot.config.proxy.responseTimeoutMilliseconds))
        }
    }

    private func resumeClientReads() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }

    /// RFC 9110 §9.2.2: safe to repeat.
    private static func isIdempotent(_ method: UnsafeRawBufferPointer) -> Bool {
        switch method.count {
        case 3: return method.elementsEqual("GET".utf8) || method.elementsEqual("PUT".utf8)
        case 4: return method.elementsEqual("HEAD".utf8)
        case 5: return method.elementsEqual("TRACE".utf8)
        case 6: return method.elementsEqual("DELETE".utf8)
        case 7: return method.elementsEqual("OPTIONS".utf8)
        default: return false
        }
    }

    private func connectFailed(_ error: any Error) {
        guard case .connecting = phase else { return }
        recordOutcome(UpstreamConnectError.kind(of: error))
        retryOrFail(timeout: false)
    }

    /// After a failure before the response started: a request that never reached an upstream may
    /// always go again; one that did, only when replayable (idempotent, body kept).
    private func retryOrFail(timeout: Bool) {
        dropConnection(reusable: false)
        endInFlight()
        if let snapshot, !requestSent || replayable, attempts.hasNext(snapshot: snapshot, coordinate: coordinate) {
            attempt()
        } else {
            answerError(timeout ? 504 : 502)
        }
    }

    /// The current attempt's outcome, once: `failure` nil when it succeeded.
    private func recordOutcome(_ failure: UpstreamFailure.Kind?) {
        guard !outcomeRecorded, let snapshot else { return }
        outcomeRecorded = true
        attempts.record(failure, since: attemptStart, snapshot: snapshot, loop: loop, health: health)
    }

    private func endInFlight() {
        guard inFlight, let snapshot else { return }
        inFlight = false
        attempts.finished(snapshot: snapshot, loop: loop)
    }

    private func dropConnection(reusable: Bool) {
        guard let connection else { return }
        self.connection = nil
        loop.bytePool.release(connection, reusable: reusable, settings: snapshot?.config.proxy ?? ProxySettings())
    }

    // MARK: - Responses

    /// The upstream's response head (and whatever followed it in the same read) has arrived.
    private func parseResponse() {
        guard let context, let snapshot else { return }
        while case .awaitingResponse = phase, var current = response {
            response = nil
            let stripNames = snapshotBytes(for: snapshot).strip
            let parsed: Result<ByteBuffer?, RequestHeadError> = current.withUnsafeReadableBytes { bytes in
                do throws(RequestHeadError) {
                    guard
                        try ResponseHeadParser.parse(bytes, limit: Self.maxResponseHeadBytes, into: &responseHead)
                            == .complete
                    else { return .success(nil) }
                    if responseHead.status == 101 { return .failure(.badRequest) }
                    return .success(clientHead(bytes, strip: stripNames, allocator: context.channel.allocator))
                } catch {
                    return .failure(error)
                }
            }
            switch parsed {
            case .success(nil):
                response = current
                return
            case .failure:
                recordOutcome(.malformedResponse)
                retryOrFail(timeout: false)
                return
            case .success(.some(var out)):
                current.moveReaderIndex(forwardBy: responseHead.length)
                if responseHead.status < 200 {
                    // 100 Continue or 103 Early Hints: passed on; the final head follows.
                    write(out)
                    if current.readableBytes > 0 { response = current }
                    continue
                }
                let status = responseHead.status
                let failed = snapshot.config.proxy.outlierDetection.count5xx && status >= 500
                recordOutcome(failed ? .status(status) : nil)
                answered(status: status)
                let framing = responseHead.framing(requestWasHEAD: isHEAD)
                upstreamReusable = !responseHead.closeRequested && bodyRemaining == 0
                switch framing {
                case .none:
                    write(out)
                    if current.readableBytes > 0 { upstreamReusable = false }
                    exchangeDone()
                    return
                case .contentLength(let length) where length <= Self.smallBody && current.readableBytes >= length:
                    // A small body that came with its head goes out in the same write.
                    var body = current.readSlice(length: length)!
                    out.writeBuffer(&body)
                    write(out)
                    if current.readableBytes > 0 { upstreamReusable = false }
                    exchangeDone()
                    return
                case .contentLength(let length): phase = .streaming(.length(remaining: length))
                case .chunked: phase = .streaming(.chunked(ChunkedBodySkipper()))
                case .untilClose:
                    upstreamReusable = false
                    phase = .streaming(.untilClose)
                }
                write(out)
                arm(Self.milliseconds(snapshot.config.proxy.idleTimeoutMilliseconds))
                if current.readableBytes > 0 { forward(current) }
                return
            }
        }
    }

    /// The response head the client sees (``ProxyHeaders/clientResponse`` on bytes).
    private func clientHead(_ bytes: UnsafeRawBufferPointer, strip: [[UInt8]], allocator: ByteBufferAllocator)
        -> ByteBuffer
    {
        let final = responseHead.status >= 200
        if final && responseHead.framing(requestWasHEAD: isHEAD) == .untilClose { closeAfter = true }
        // Answered before the client finished its body: nobody reads the rest; the connection ends.
        if final && bodyRemaining > 0 { closeAfter = true }
        // Room for a small body too (copied behind the head when it came along).
        let body = responseHead.contentLength.map { $0 <= Self.smallBody ? $0 : 0 } ?? 0
        var out = allocator.buffer(capacity: responseHead.length + regionName.count + 48 + body)
        out.writeStaticString("HTTP/1.1 ")
        out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[responseHead.statusStart..<responseHead.fieldsStart]))
        var index = responseHead.fieldsStart
        while let field = try? FieldLines.next(bytes, at: &index, end: responseHead.length) {
            let name = field.name
            // Transfer-Encoding stays: the body goes on as the upstream framed it.
            var copy = !HopByHop.contains(bytes, name) || FieldLines.equals(bytes, name, "transfer-encoding")
            if copy, FieldLines.equals(bytes, name, "x-geofront-region") { copy = false }
            if copy, HopByHop.isNamed(bytes, name, in: responseHead.connectionNames) { copy = false }
            if copy, !strip.isEmpty, strip.contains(where: { FieldLines.equals(bytes, name, lowercased: $0) }) {
                copy = false
            }
            if copy {
                out.writeBytes(
                    UnsafeRawBufferPointer(rebasing: bytes[field.line.start..<(field.line.start + field.line.count)]))
            }
        }
        if final {
            out.writeStaticString("X-GeoFront-Region: ")
            out.writeBytes(regionName)
            out.writeStaticString(closeAfter ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n")
        } else {
            out.writeStaticString("\r\n")
        }
        return out
    }

    /// Response body bytes, passed on as they are; the response's end found from its framing.
    private func forward(_ bytes: ByteBuffer) {
        guard case .streaming(let body) = phase else { return }
        var bytes = bytes
        switch body {
        case .length(let remaining):
            if bytes.readableBytes < remaining {
                phase = .streaming(.length(remaining: remaining - bytes.readableBytes))
                write(bytes)
            } else {
                if bytes.readableBytes > remaining { upstreamReusable = false }
                write(bytes.readSlice(length: remaining)!)
                exchangeDone()
            }
        case .chunked(var skipper):
            let outcome: Result<ChunkedBodySkipper.Outcome, RequestHeadError> = bytes.withUnsafeReadableBytes { raw in
                do throws(RequestHeadError) { return .success(try skipper.consume(raw)) } catch {
                    return .failure(error)
                }
            }
            switch outcome {
            case .success(.needMore):
                phase = .streaming(.chunked(skipper))
                write(bytes)
            case .success(.done(let consumed)):
                if bytes.readableBytes > consumed { upstreamReusable = false }
                write(bytes.readSlice(length: consumed)!)
                exchangeDone()
            case .failure:
                // Broken framing from the upstream: the client's response is cut, not made up.
                recordOutcome(.malformedBody)
                cutClient()
            }
        case .untilClose:
            write(bytes)
        }
    }

    /// The response ended: the upstream connection goes back to the pool, the next request starts.
    private func exchangeDone() {
        dropConnection(reusable: upstreamReusable)
        endInFlight()
        snapshot = nil
        logged = nil
        // An idle keep-alive connection keeps no buffers (as nginx frees its own).
        upstreamHead = ByteBuffer()
        response = nil
        bodyParts = []
        if closeAfter {
            closeAfterWrites()
            return
        }
        phase = .awaitingHead
        // The upstream connection is back in the pool and no longer reports its read's end: the
        // response goes out now (inside `process` the client's read end flushes instead).
        if !processing { flushIfNeeded() }
        arm(limits.idleTimeout)
        if readPending, let context {
            readPending = false
            context.read()
        }
        process()
    }

    /// The request's answer is known: counted, and logged when there is an access log.
    private func answered(status: Int) {
        guard let snapshot else { return }
        let region = snapshot.regions[attempts.regionIndex].name
        loop.countRequest(region: region, mode: .proxy, status: status)
        if let logged {
            loop.logAccess(
                client: client, region: region, mode: .proxy, method: logged.method, target: logged.target,
                status: status, start: logged.start, database: snapshot.database)
        }
    }

    /// 502 or 504 before any response byte went out.
    private func answerError(_ status: Int) {
        guard let context else { return }
        answered(status: status)
        if bodyRemaining > 0 { closeAfter = true }
        write(
            FastPathResponses.plain(
                context.channel.allocator, status: status, keepAlive: !closeAfter, region: regionName))
        upstreamReusable = false
        exchangeDone()
    }

    /// After a response was cut short: the client must not take it for whole.
    private func cutClient() {
        phase = .closing
        timer.cancel()
        dropConnection(reusable: false)
        endInFlight()
        context?.close(promise: nil)
    }

    private func snapshotBytes(for snapshot: RoutingSnapshot) -> (regionNames: [[UInt8]], strip: [[UInt8]]) {
        if bytesFor.snapshot !== snapshot {
            bytesFor = (
                snapshot, snapshot.regions.map { Array($0.name.utf8) },
                snapshot.config.proxy.removedResponseHeaders.map { Array($0.lowercased().utf8) }
            )
        }
        return (bytesFor.regionNames, bytesFor.strip)
    }

    // MARK: - Client writes

    private func write(_ out: ByteBuffer) {
        context?.write(wrapOutboundOut(out), promise: nil)
        unflushed = true
    }

    private func flushIfNeeded() {
        if unflushed {
            unflushed = false
            context?.flush()
        }
    }

    /// Flushes what was written and closes once it is out.
    private func closeAfterWrites() {
        guard let context else { return }
        phase = .closing
        unflushed = false
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// 400, 408 or 431, then close.
    private func refuse(_ status: Int) {
        guard let context else { return }
        loop.countRequest(region: "-", mode: .proxy, status: status)
        write(FastPathResponses.plain(context.channel.allocator, status: status, keepAlive: false))
        closeAfterWrites()
    }

    // MARK: - Hand-over

    /// From this request on, the general pipeline serves the connection.
    private func handOver(context: ChannelHandlerContext) {
        let pending = buffer
        buffer = nil
        phase = .handedOver
        timer.cancel()
        flushIfNeeded()
        do {
            try installGeneralPath(
                context.pipeline.syncOperations,
                HandOver(peer: peer, answered: requests, rateLimited: handOverRateLimited))
        } catch {
            context.close(promise: nil)
            return
        }
        if let pending { context.fireChannelRead(wrapInboundOut(pending)) }
        context.fireChannelReadComplete()
        if readPending {
            readPending = false
            context.read()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    // MARK: - Timer

    private func arm(_ delay: TimeAmount) {
        timer.arm(in: delay)
    }

    private func timedOut(context: ChannelHandlerContext) {
        switch phase {
        case .awaitingHead where (buffer?.readableBytes ?? 0) > 0:
            refuse(408)
        case .awaitingHead, .closing:
            flushIfNeeded()
            context.close(promise: nil)
        case .connecting, .handedOver:
            break
        case .awaitingResponse where bodyRemaining > 0:
            // The client stopped sending its body.
            cutClient()
        case .awaitingResponse:
            let limit = snapshot?.config.proxy.responseTimeoutMilliseconds ?? 0
            recordOutcome(.responseTimeout(milliseconds: limit))
            retryOrFail(timeout: true)
        case .streaming:
            cutClient()
        }
    }

    private static func milliseconds(_ value: Int?) -> TimeAmount {
        .milliseconds(Int64(value ?? 0))
    }

    private static func slice(_ bytes: UnsafeRawBufferPointer, _ span: RequestHead.Span) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[span.start..<(span.start + span.count)])
    }

    /// Characters a `Forwarded` `host=` value may carry unquoted (as the general path decides).
    private static func isForwardedTokenByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: ".")
    }
}

extension FastProxyHandler: ByteUpstreamDelegate {
    func upstreamRead(_ bytes: ByteBuffer) {
        switch phase {
        case .awaitingResponse:
            if response == nil {
                response = bytes
            } else {
                var bytes = bytes
                response!.writeBuffer(&bytes)
            }
            parseResponse()
        case .streaming:
            if let snapshot { arm(Self.milliseconds(snapshot.config.proxy.idleTimeoutMilliseconds)) }
            forward(bytes)
        case .awaitingHead, .connecting, .closing, .handedOver:
            break
        }
    }

    func upstreamReadComplete() {
        flushIfNeeded()
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        upstreamWritable = writable
        if writable && bodyRemaining > 0 { resumeClientReads() }
    }

    func upstreamClosed() {
        switch phase {
        case .awaitingResponse:
            recordOutcome(.closedBeforeResponse)
            retryOrFail(timeout: false)
        case .streaming(.untilClose):
            // The body's end: the client's connection ends with it (its head said so).
            upstreamReusable = false
            closeAfter = true
            exchangeDone()
        case .streaming:
            cutClient()
        case .awaitingHead, .connecting, .closing, .handedOver:
            break
        }
    }
}
