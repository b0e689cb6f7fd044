import GeoFrontCore
import GeoIP
import NIOCore

/// Drives a client connection's proxied requests, one at a time: feeds the
/// ``ExchangeStateMachine`` what the client, the upstream connection and the timer do, and
/// carries out its actions — takes upstreams (``UpstreamAttempts``) and pooled byte-level
/// connections, writes the request (``UpstreamRequestHead``) and its body, parses the response
/// head in place (``ResponseHeadParser``), writes it (``ClientResponseHead``) and the body back
/// through the ``HTTP1FrontEnd``, reports outcomes to metrics and outlier detection, and joins
/// the two connections into a tunnel after `101 Switching Protocols`. One per client
/// connection, made at its first proxied request; nothing per request is allocated here beyond
/// the upstream head's buffer.
final class ProxyExchangeDriver {
    /// A body at most this long that arrives with its head is copied behind it (one write).
    static let smallBody = 8 * 1024
    /// Bytes of an upstream's response head at most (a larger one is a broken upstream: 502).
    static let maxResponseHeadBytes = 64 * 1024

    /// Owns this driver (a client connection's front end, or the cache's background refresh);
    /// every entry from elsewhere (a connect completing, the upstream connection's events) checks
    /// ``attached`` first, so this is never read after it is gone.
    unowned let frontEnd: any ExchangeClient
    var attached = true
    let loop: LoopState
    var machine = ExchangeStateMachine(responseTimeoutMilliseconds: 0)
    private var writer: UpstreamRequestHead

    // The current exchange.
    private(set) var snapshot: RoutingSnapshot?
    private var attempts = UpstreamAttempts(regionIndex: 0)
    private var coordinate: Coordinate?
    private var client = IPAddress(v4: 0)
    private(set) var regionName: [UInt8] = []
    private var isHEAD = false
    /// A gRPC call: GeoFront's own answers to it are gRPC statuses.
    private var isGRPC = false
    private(set) var http10 = false
    private var dechunk = false
    private var logged: (start: NIODeadline, method: String, target: String)?
    /// The route that took the request (its header edits and sticky cookie apply).
    private(set) var route: Int?
    /// The region load this exchange counts in, until it ends.
    private var loadCounted: (load: RegionLoad, region: Int)?
    /// The traffic policy that applied (for the access log).
    private var policy: Int?
    /// The route's backend that took the request.
    private var backend = 0
    /// A sticky cookie the response sets.
    private(set) var newCookie: UInt64?
    /// `affinity`'s `Set-Cookie` line the response carries (pre-built, from the snapshot).
    private(set) var affinityCookie: [UInt8]?
    /// The upstream request (written again on a retry).
    private var upstreamHead = ByteBuffer()
    private var connection: UpstreamConnection<ByteUpstreamHandler>?
    /// Response bytes before a whole head.
    var response: ByteBuffer?
    private(set) var responseHead = ResponseHead()
    /// Body parts not yet written to a connection and, while the machine keeps the body for a
    /// retry, all parts so far.
    private var bodyParts: [ByteBuffer] = []
    var upstreamWritable = true
    /// Body bytes were written upstream since the client's last read completed.
    private var upstreamUnflushed = false
    private var inFlight = false
    private var outcomeRecorded = false
    private var attemptStart = NIODeadline.uptimeNanoseconds(0)
    /// The cache's part in this exchange (nil: no cache, or the cache is off for its route).
    var cacheForward: CacheForward?
    /// The response's body goes into ``CacheForward/fill`` as it passes (it is being stored).
    var filling = false
    /// The request's head and the answer's status for the access log's `cache` field.
    var cacheResult: CacheResult?

    init(frontEnd: any ExchangeClient) {
        self.frontEnd = frontEnd
        self.loop = frontEnd.loop
        self.writer = UpstreamRequestHead(secure: frontEnd.secure)
        writer.setPeer(frontEnd.peer)
    }

    /// The connection's client address changed (a PROXY header).
    func peerChanged() {
        writer.setPeer(frontEnd.peer)
    }

    /// The client's request body has been read whole (or there is none, or no exchange).
    var requestComplete: Bool { machine.requestComplete }

    /// Client reads wait: the body has no connection to go to, or the upstream cannot take more.
    var holdsClientReads: Bool { !machine.requestComplete && (connection == nil || !upstreamWritable) }

    // MARK: - From the front end

    /// A request head the decision sends to a proxy region.
    func start(
        head: RequestHead, _ bytes: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, decision: RoutingDecision,
        snapshot: RoutingSnapshot, close: Bool, logged: (start: NIODeadline, method: String, target: String)?,
        affinityCookie: [UInt8]? = nil, cache: CacheForward? = nil, allocator: ByteBufferAllocator
    ) {
        cacheForward = cache
        filling = false
        // A 304 that revalidates, or a stale answer on error, sets its own result later.
        if let cache {
            let bypass = cache.status.forward == .method || cache.request.cacheControl.noStore
            cacheResult = bypass ? .bypass : .miss
        } else {
            cacheResult = nil
        }
        let method = head.method.bytes(in: bytes)
        isHEAD = RequestMethod.isHEAD(method)
        isGRPC = head.isGRPC
        http10 = head.version == .http10
        dechunk = false
        self.snapshot = snapshot
        self.coordinate = decision.coordinate
        self.client = decision.client
        self.attempts = UpstreamAttempts(
            regionIndex: decision.regionIndex, service: decision.service,
            firstEntry: snapshot.services[decision.service].deployments.lowerBound)
        self.route = decision.route
        self.policy = decision.policy
        if let load = snapshot.regionLoad {
            let region = snapshot.regionOrdinals[decision.regionIndex]
            load.inFlight(region, 1)
            loadCounted = (load, region)
        }
        self.backend = decision.backend?.backend ?? 0
        self.newCookie = decision.backend?.newCookie
        self.affinityCookie = affinityCookie
        self.regionName = loop.proxyNames(for: snapshot).regionNames[decision.regionIndex]
        self.logged = logged
        bodyParts.removeAll()
        upstreamHead = writer.write(
            bytes, head: head, method: method, path: path,
            trusted: snapshot.clientIPResolver.isTrusted(frontEnd.peer), hostPolicy: snapshot.config.proxy.hostHeader,
            edits: CacheRevalidation.edits(
                route: decision.route.map { snapshot.routeActions[$0].requestHeaders }, cache: cache),
            allocator: allocator)
        machine = ExchangeStateMachine(responseTimeoutMilliseconds: snapshot.config.proxy.responseTimeoutMilliseconds)
        let request = ExchangeStateMachine.Request(
            body: head.body, idempotent: RequestMethod.isIdempotent(method), upgrade: writer.upgrade,
            http10: http10, keepAlive: !close)
        perform(machine.start(request))
    }

    /// Client bytes while the request body streams: the body's part is taken from `incoming`.
    func requestBody(_ incoming: inout ByteBuffer) {
        let (consumed, action) = incoming.withUnsafeReadableBytes { machine.requestBodyBytes($0) }
        if consumed > 0, let part = incoming.readSlice(length: consumed) {
            if let connection, machine.state != .connecting {
                connection.channel.write(part, promise: nil)
                upstreamUnflushed = true
                if machine.keepsRequestBody {
                    bodyParts.append(part)
                } else if !bodyParts.isEmpty {
                    bodyParts.removeAll()
                }
            } else {
                bodyParts.append(part)
            }
        }
        if action == .none { armDeadline() } else { perform(action) }
    }

    func clientReadComplete() {
        if upstreamUnflushed {
            upstreamUnflushed = false
            connection?.channel.flush()
        }
    }

    func clientWritabilityChanged(_ writable: Bool) {
        guard let connection else { return }
        if writable {
            connection.handler.resumeReads()
        } else {
            connection.handler.pauseReads()
        }
        // The upstream is silent because it is not being read, not because it stalled.
        if machine.state == .streamingResponse { armDeadline() }
    }

    /// A graceful shutdown began: the connection ends after this response.
    func quiesce() {
        machine.closeClientAfterResponse()
    }

    func timedOut() {
        let retry = machine.state == .awaitingResponse && machine.requestComplete && anotherUpstream()
        perform(machine.timedOut(anotherUpstream: retry))
    }

    func clientClosed() {
        abandonFill()
        machine.clientClosed()
        dropConnection(reusable: false)
        endInFlight()
        clear()
    }

    /// The front end left its pipeline (its connection closed, or it became a tunnel): nothing
    /// may reach it through this driver any more.
    func detach() {
        if machine.state != .idle && machine.state != .tunnel { clientClosed() }
        attached = false
    }

    // MARK: - Actions

    func perform(_ action: ExchangeStateMachine.Action) {
        switch action {
        case .none, .forwardInformational, .forwardResponseHead, .startTunnel:
            // The response-head actions are carried out where the head is parsed.
            break
        case .connect(let report):
            if let report { recordOutcome(report) }
            dropConnection(reusable: false)
            endInFlight()
            attempt()
        case .sendRequest:
            send()
        case .answer(let status, let closeClient, let report):
            if let report { recordOutcome(report) }
            dropConnection(reusable: false)
            endInFlight()
            if let stale = staleOnError(upstreamStatus: status, closeClient: closeClient) {
                answerFromCache(stale, closeClient: closeClient)
                return
            }
            abandonFill()
            answered(status: status)
            if let allocator = frontEnd.allocator {
                frontEnd.write(
                    LocalResponses.failure(
                        allocator, status: status, keepAlive: !closeClient, region: regionName, grpcCall: isGRPC))
            }
            finished(closeClient: closeClient)
        case .finish(let reuseUpstream, let closeClient):
            if filling { completeFill() }
            dropConnection(reusable: reuseUpstream)
            endInFlight()
            finished(closeClient: closeClient)
        case .cut(let report):
            abandonFill()
            if let report { recordOutcome(report) }
            dropConnection(reusable: false)
            endInFlight()
            clear()
            frontEnd.cut()
        }
    }

    private func attempt() {
        guard let snapshot, let eventLoop = frontEnd.eventLoop else { return }
        guard let next = attempts.next(snapshot: snapshot, loop: loop, coordinate: coordinate) else {
            perform(machine.noUpstreamLeft())
            return
        }
        regionName = loop.proxyNames(for: snapshot).regionNames[attempts.regionIndex]
        inFlight = true
        outcomeRecorded = false
        attemptStart = .now()
        frontEnd.disarm()  // connect_timeout_ms is the connection's own
        let upstream = snapshot.regions[attempts.regionIndex].config.upstreams[next]
        let pending: EventLoopFuture<UpstreamConnection<ByteUpstreamHandler>>
        if upstream.httpProtocol == .h2 {
            pending = loop.h2Pool.openStream(upstream, settings: snapshot.config.proxy)
        } else if let connection = loop.bytePool.takeIdle(upstream) {
            connected(connection)
            return
        } else {
            pending = loop.bytePool.connect(upstream, settings: snapshot.config.proxy)
        }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        pending.whenComplete { result in
            let driver = bound.value
            switch result {
            case .success(let connection): driver.connected(connection)
            case .failure(let error): driver.connectFailed(error)
            }
        }
    }

    private func connected(_ connection: UpstreamConnection<ByteUpstreamHandler>) {
        guard attached, machine.state == .connecting, snapshot != nil else {
            // Nobody wants it any more (the client left while it was being made).
            loop.releaseUpstream(connection, reusable: false, settings: ProxySettings())
            return
        }
        self.connection = connection
        connection.handler.delegate = self
        if !frontEnd.clientWritable { connection.handler.pauseReads() }
        response = nil
        perform(machine.connected())
    }

    private func connectFailed(_ error: any Error) {
        guard attached, machine.state == .connecting else { return }
        perform(machine.connectFailed(UpstreamConnectError.kind(of: error), anotherUpstream: anotherUpstream()))
    }

    /// The request head and the body so far go to the new connection.
    private func send() {
        guard let connection else { return }
        connection.channel.write(upstreamHead, promise: nil)
        if writer.needsHost {
            connection.channel.write(
                UpstreamRequestHead.hostLine(connection.upstream, allocator: connection.channel.allocator), promise: nil
            )
        }
        for part in bodyParts { connection.channel.write(part, promise: nil) }
        if !machine.keepsRequestBody { bodyParts.removeAll() }
        loop.flushAtTurnEnd(connection.channel)
        upstreamWritable = connection.channel.isWritable
        armDeadline()
        if !machine.requestComplete { frontEnd.resumeClientReads() }
    }

    /// The request's answer is known: counted, and logged when there is an access log.
    func answered(status: Int) {
        guard let snapshot else { return }
        // The cache's own background refresh is nobody's request: not counted, not logged.
        if cacheForward?.background == true { return }
        loop.countProxied(snapshot: snapshot, index: attempts.regionIndex, status: status)
        if let logged {
            loop.logAccess(
                client: client, region: snapshot.regions[attempts.regionIndex].name, mode: .proxy,
                method: logged.method, target: logged.target,
                status: status, start: logged.start, database: snapshot.database,
                policy: policy.map { snapshot.policies.policies[$0].name }, cache: cacheResult?.label,
                http2: frontEnd.http2)
        }
        if let cacheResult, let cache = cacheForward?.cache { cache.count(cacheResult) }
    }

    func finished(closeClient: Bool) {
        clear()
        frontEnd.exchangeFinished(closeClient: closeClient)
    }

    /// An idle keep-alive connection keeps no buffers (as nginx frees its own).
    private func clear() {
        abandonFill()
        cacheForward = nil
        if let counted = loadCounted {
            counted.load.inFlight(counted.region, -1)
            loadCounted = nil
        }
        snapshot = nil
        logged = nil
        upstreamHead = ByteBuffer()
        response = nil
        bodyParts = []
    }

    private func armDeadline() {
        guard let snapshot else { return }
        switch machine.deadline {
        case .none:
            frontEnd.disarm()
        case .requestBody:
            frontEnd.arm(frontEnd.limits.requestTimeout)
        case .response:
            frontEnd.arm(.milliseconds(Int64(snapshot.config.proxy.responseTimeoutMilliseconds)))
        case .responseBody where frontEnd.clientWritable:
            frontEnd.arm(.milliseconds(Int64(snapshot.config.proxy.idleTimeoutMilliseconds)))
        case .responseBody:
            frontEnd.disarm()
        }
    }

    func anotherUpstream() -> Bool {
        guard let snapshot else { return false }
        return attempts.hasNext(snapshot: snapshot, coordinate: coordinate)
    }

    /// The current attempt's outcome, once: `failure` nil when it succeeded.
    private func recordOutcome(_ failure: UpstreamFailure.Kind?, status: Int = 0) {
        guard !outcomeRecorded, let snapshot else { return }
        outcomeRecorded = true
        attempts.record(failure, since: attemptStart, snapshot: snapshot, loop: loop, health: frontEnd.health)
        // A route's backend is judged by its 5xx answers and failed attempts (not by GeoFront's
        // own limits), for its rollback and its counts.
        if let route, let control = snapshot.routeControl {
            var failed = status >= 500
            if let failure, UpstreamFailure(failure, region: "", upstream: "").countsAgainstUpstream { failed = true }
            if let event = control.record(route: route, backend: backend, failed: failed) {
                loop.routeEvents?.rollback(event, control: control)
            }
        }
    }

    private func endInFlight() {
        guard inFlight, let snapshot else { return }
        inFlight = false
        attempts.finished(snapshot: snapshot, loop: loop)
    }

    private func dropConnection(reusable: Bool) {
        guard let connection else { return }
        self.connection = nil
        loop.releaseUpstream(connection, reusable: reusable, settings: snapshot?.config.proxy ?? ProxySettings())
    }

    // MARK: - Responses

    /// Parses the response head (with whatever followed it in the same read) once it is whole.
    func parseResponse() {
        guard let allocator = frontEnd.allocator, let snapshot else { return }
        while machine.state == .awaitingResponse, var current = response {
            response = nil
            var cachedAnswer: CacheLookup.Answer?
            let strip = loop.proxyNames(for: snapshot).strip
            var parsed = current.withUnsafeReadableBytes { bytes -> (ExchangeStateMachine.Action, ByteBuffer?)? in
                do throws(RequestHeadError) {
                    guard
                        try ResponseHeadParser.parse(bytes, limit: Self.maxResponseHeadBytes, into: &responseHead)
                            == .complete
                    else { return nil }
                } catch {
                    return (machine.malformedResponse(anotherUpstream: anotherUpstream()), nil)
                }
                let action = machine.responseHead(
                    status: responseHead.status, framing: responseHead.framing(requestWasHEAD: isHEAD),
                    upstreamCloses: responseHead.closeRequested, anotherUpstream: anotherUpstream())
                let closeClient: Bool
                switch action {
                case .forwardResponseHead(let close, let dechunk, _, _):
                    closeClient = close
                    self.dechunk = dechunk
                case .forwardInformational, .startTunnel:
                    closeClient = false
                default:
                    return (action, nil)
                }
                var cacheStatusLine: CacheStatus?
                if cacheForward != nil, responseHead.status >= 200, case .forwardResponseHead = action {
                    switch cacheResponseHead(
                        bytes, strip: strip, closeClient: closeClient, allocator: allocator)
                    {
                    case .pass(let line):
                        cacheStatusLine = line
                    case .answer(let answer):
                        cachedAnswer = answer
                        return (action, nil)
                    }
                }
                // Room for a small body too (copied behind the head when it came along).
                let extra = current.readableBytes - responseHead.length <= Self.smallBody ? current.readableBytes : 0
                let actions = route.map { snapshot.routeActions[$0] }
                let out = ClientResponseHead.write(
                    bytes, head: responseHead, region: regionName, strip: strip, closeClient: closeClient,
                    http10: http10, dechunk: dechunk, edits: actions?.responseHeaders,
                    setCookie: newCookie.flatMap { actions?.setCookieLine($0) }, affinityCookie: affinityCookie,
                    cacheStatus: cacheStatusLine, extraCapacity: extra, allocator: allocator)
                return (action, out)
            }
            // One binding only (`guard var parsed` would make a second one, still holding the
            // head's storage, and writing the body behind it would copy it).
            guard parsed != nil else {
                response = current
                return
            }
            let action = parsed!.0
            // Moved out, not copied: the head buffer must stay unique for a small body to be
            // written behind it without a copy of the whole buffer.
            var head = parsed!.1.take()
            if let answer = cachedAnswer {
                // The cache answers instead of the upstream's response (a 304 that revalidated,
                // a 5xx that stale-if-error covers).
                current.moveReaderIndex(forwardBy: responseHead.length)
                guard case .forwardResponseHead(let closeClient, _, let complete, let reuseUpstream) = action else {
                    return
                }
                let status = responseHead.status
                let failed = snapshot.config.proxy.outlierDetection.count5xx && status >= 500
                recordOutcome(failed ? .status(status) : nil, status: status)
                machine = ExchangeStateMachine(responseTimeoutMilliseconds: 0)
                dropConnection(reusable: complete && reuseUpstream && current.readableBytes == 0)
                endInFlight()
                answerFromCache(answer, closeClient: closeClient)
                return
            }
            guard head != nil else {
                // Malformed, or an informational head an HTTP/1.0 client does not get.
                if case .none = action, responseHead.length > 0 {
                    current.moveReaderIndex(forwardBy: responseHead.length)
                    if current.readableBytes > 0 { response = current }
                    continue
                }
                perform(action)
                return
            }
            current.moveReaderIndex(forwardBy: responseHead.length)
            switch action {
            case .forwardInformational:
                // 100 Continue or 103 Early Hints: passed on; the final head follows.
                frontEnd.write(head!)
                if current.readableBytes > 0 { response = current }
            case .startTunnel:
                startTunnel(head: head!, leftover: current)
                return
            case .forwardResponseHead(let closeClient, _, let complete, let reuseUpstream):
                let status = responseHead.status
                let failed = snapshot.config.proxy.outlierDetection.count5xx && status >= 500
                recordOutcome(failed ? .status(status) : nil, status: status)
                answered(status: status)
                if complete {
                    frontEnd.write(head!)
                    perform(
                        .finish(reuseUpstream: reuseUpstream && current.readableBytes == 0, closeClient: closeClient))
                    return
                }
                if current.readableBytes > 0 && current.readableBytes <= Self.smallBody {
                    // A small body that came with its head goes out in the same write.
                    forward(current, behind: head.take())
                } else {
                    frontEnd.write(head!)
                    armDeadline()
                    if current.readableBytes > 0 { forward(current) }
                }
                return
            default:
                perform(action)
                return
            }
        }
    }

    /// Response body bytes, passed on (de-chunked for an HTTP/1.0 client), behind `head` when it
    /// is given (one write); the response's end is found by the machine from the body's framing.
    func forward(_ bytes: ByteBuffer, behind head: consuming ByteBuffer? = nil) {
        var ranges: [Range<Int>] = []
        // The content ranges are needed to de-chunk, and to keep a chunked body for the cache;
        // otherwise the content is the consumed bytes as they are (no array made).
        let wantRanges = dechunk || (filling && responseIsChunked)
        let step = bytes.withUnsafeReadableBytes { raw in
            wantRanges ? machine.responseBodyBytes(raw) { ranges.append($0) } : machine.responseBodyBytes(raw)
        }
        if filling {
            if wantRanges {
                for range in ranges { fillBody(bytes, range) }
            } else {
                fillBody(bytes, 0..<step.consumed)
            }
            fillChecked()
        }
        if var head = head.take() {
            if dechunk {
                for range in ranges { head.writeImmutableBuffer(slice(bytes, range)) }
            } else {
                head.writeImmutableBuffer(slice(bytes, 0..<step.consumed))
            }
            frontEnd.write(head)
        } else if dechunk {
            for range in ranges { frontEnd.write(slice(bytes, range)) }
        } else if step.consumed > 0 {
            frontEnd.write(slice(bytes, 0..<step.consumed))
        }
        if step.action == .none { armDeadline() } else { perform(step.action) }
    }

    private func slice(_ bytes: ByteBuffer, _ range: Range<Int>) -> ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + range.lowerBound, length: range.count)!
    }

    // MARK: - Tunnel

    /// `101 Switching Protocols`: the head goes to the client, then both connections drop their
    /// HTTP handlers and become the two ends of a byte tunnel (``TunnelHandler``). Bytes that
    /// already followed the handshake on either side are passed on first.
    private func startTunnel(head: ByteBuffer, leftover: ByteBuffer) {
        recordOutcome(nil)
        answered(status: 101)
        endInFlight()
        guard let connection, let snapshot else { return }
        self.connection = nil
        frontEnd.write(head)
        if leftover.readableBytes > 0 { frontEnd.write(leftover) }
        clear()
        frontEnd.startTunnel(
            to: connection.channel,
            idleTimeout: .milliseconds(Int64(snapshot.config.proxy.tunnelIdleTimeoutMilliseconds)))
    }
}
