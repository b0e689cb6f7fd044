/// One proxied request and its response, as a state machine without I/O: events in (what the
/// client, the upstream connection and the clock did), actions out (what the driver must do).
/// It owns the rules — when to try another upstream, when a request may be sent again, where each
/// body ends, which side may be reused, which deadline runs — and nothing else: bytes are written,
/// connections taken and outcomes reported by its driver (the HTTP/1 front end's
/// `ProxyExchangeDriver`; an HTTP/2 stream can drive it the same way).
///
/// ```
///   start ──▶ connecting ──connected──▶ awaitingResponse ──final head──▶ streamingResponse ──end──▶ idle
///                ▲   │ failed              │  │ 1xx (stays)                  │ cut / timeout
///                │   ▼                     │  └─101 (upgrade)──▶ tunnel       ▼
///                └─ retry? ◀── failed, timed out, closed, malformed         closed (client cut)
///                    │ no
///                    ▼
///               answer 502/504 ──▶ idle
/// ```
///
/// The request body streams through every state until it ends; its bytes are kept for a retry
/// while the request is idempotent and they fit in ``replayLimit``.
public struct ExchangeStateMachine: Sendable {
    /// What the driver knows of the request once its head is parsed.
    public struct Request: Sendable, Equatable {
        public var body: RequestHead.Body
        /// RFC 9110 §9.2.2: the method may be repeated.
        public var idempotent: Bool
        /// The client asked for a protocol switch (`Connection: upgrade` with `Upgrade`).
        public var upgrade: Bool
        /// An HTTP/1.0 client: no chunked framing, no 1xx, keep-alive only on request.
        public var http10: Bool
        /// The client connection may carry another request after this one.
        public var keepAlive: Bool

        public init(
            body: RequestHead.Body, idempotent: Bool, upgrade: Bool, http10: Bool, keepAlive: Bool
        ) {
            self.body = body
            self.idempotent = idempotent
            self.upgrade = upgrade
            self.http10 = http10
            self.keepAlive = keepAlive
        }
    }

    public enum State: Sendable, Equatable {
        /// No exchange (before `start`, after its end).
        case idle
        /// Waiting for a connection to the current attempt's upstream.
        case connecting
        /// The request went upstream (its body may still be streaming); no final head yet.
        case awaitingResponse
        /// The final response head went to the client; its body is streaming.
        case streamingResponse
        /// `101 Switching Protocols`: the two connections are a byte tunnel now.
        case tunnel
        /// The client's response was cut short or the client left: the client connection ends.
        case closed
    }

    /// Which deadline runs now.
    public enum Deadline: Sendable, Equatable {
        case none
        /// `request_timeout_ms`: the longest pause inside the client's body.
        case requestBody
        /// `response_timeout_ms`: the whole request is out, its response head has not come.
        case response
        /// The proxy's `idle_timeout_ms`: the longest pause inside the response body.
        case responseBody
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Take the next upstream and connect to it; `report` is the failure of the attempt that
        /// just ended, if one did. When no upstream is left, tell ``noUpstreamLeft()``.
        case connect(report: UpstreamFailure.Kind?)
        /// Write the request head and the body kept so far to the new connection.
        case sendRequest
        /// Answer the client here (no response byte went out); the upstream connection, if any,
        /// is not reusable. `closeClient`: the connection ends after the answer.
        case answer(status: Int, closeClient: Bool, report: UpstreamFailure.Kind?)
        /// Pass a 1xx head on (100 Continue, 103 Early Hints).
        case forwardInformational
        /// Write the 101 head and join the two connections into a tunnel.
        case startTunnel
        /// Write the final head. `dechunk`: pass the body on without its chunked framing (an
        /// HTTP/1.0 client, whose connection then ends with the body). `complete`: there is no
        /// body, the exchange is over (see `finish` for the reuse flags).
        case forwardResponseHead(closeClient: Bool, dechunk: Bool, complete: Bool, reuseUpstream: Bool)
        /// The response ended: the upstream connection goes back to its pool when `reuseUpstream`.
        case finish(reuseUpstream: Bool, closeClient: Bool)
        /// Close the client connection now: its response cannot be completed and must not look
        /// whole. The upstream connection is not reusable.
        case cut(report: UpstreamFailure.Kind?)
    }

    /// Body bytes kept for a possible retry of an idempotent request.
    public static let replayLimit = 64 * 1024

    public private(set) var state = State.idle
    private var request = Request(
        body: .none, idempotent: false, upgrade: false, http10: false, keepAlive: true)
    private var requestBody = MessageBodyReader(request: .none)
    private var responseBody = MessageBodyReader(response: .none)
    /// The request reached an upstream (its head was written to a connection).
    private var requestSent = false
    /// The body bytes sent so far are all kept: a retry can send them again.
    public private(set) var keepsRequestBody = false
    private var keptBytes = 0
    private var closeClient = false
    private var upstreamCloses = false
    private let responseTimeoutMilliseconds: Int

    public init(responseTimeoutMilliseconds: Int) {
        self.responseTimeoutMilliseconds = responseTimeoutMilliseconds
    }

    /// The client's body has been read whole (or it has none).
    public var requestComplete: Bool { requestBody.isDone }

    /// The response has started (its final head went out): no local answer any more.
    public var responseStarted: Bool { state == .streamingResponse || state == .tunnel }

    /// Client reads wait while no connection can take the body.
    public var holdsRequestBody: Bool { state == .connecting && !requestBody.isDone }

    public var deadline: Deadline {
        switch state {
        case .awaitingResponse: return requestBody.isDone ? .response : .requestBody
        case .streamingResponse: return .responseBody
        case .idle, .connecting, .tunnel, .closed: return .none
        }
    }

    // MARK: - Events

    /// A routed request: connect to its first upstream.
    public mutating func start(_ request: Request) -> Action {
        self.request = request
        requestBody = MessageBodyReader(request: request.body)
        responseBody = MessageBodyReader(response: .none)
        requestSent = false
        keptBytes = 0
        keepsRequestBody = request.idempotent
        closeClient = !request.keepAlive
        upstreamCloses = false
        state = .connecting
        return .connect(report: nil)
    }

    /// No upstream is left to try (``Action/connect(report:)`` found none).
    public mutating func noUpstreamLeft(timedOut: Bool = false) -> Action {
        answer(timedOut ? 504 : 502, report: nil)
    }

    public mutating func connected() -> Action {
        guard state == .connecting else { return .none }
        state = .awaitingResponse
        requestSent = true
        return .sendRequest
    }

    /// Connecting failed: nothing was sent, so another upstream may always be tried.
    public mutating func connectFailed(_ kind: UpstreamFailure.Kind, anotherUpstream: Bool) -> Action {
        guard state == .connecting else { return .none }
        return anotherUpstream ? .connect(report: kind) : answer(502, report: kind)
    }

    /// Client bytes while the request body streams: how many of them are the body's (the rest
    /// is the next request), and what to do.
    public mutating func requestBodyBytes(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, action: Action) {
        let consumed: Int
        do throws(RequestHeadError) {
            switch try requestBody.consume(bytes) {
            case .needMore: consumed = bytes.count
            case .done(let count): consumed = count
            }
        } catch {
            // Broken chunked framing: the upstream has part of a request it cannot finish.
            if responseStarted { return (bytes.count, cutClient(report: nil)) }
            closeClient = true
            return (bytes.count, answer(400, report: nil))
        }
        if keepsRequestBody {
            keptBytes += consumed
            if keptBytes > Self.replayLimit { keepsRequestBody = false }
        }
        return (consumed, .none)
    }

    /// A response head from the upstream (status, its framing for this request, and whether the
    /// upstream closes after it).
    public mutating func responseHead(
        status: Int, framing: ResponseHead.Framing, upstreamCloses: Bool, anotherUpstream: @autoclosure () -> Bool
    ) -> Action {
        guard state == .awaitingResponse else { return .none }
        if status == 101 {
            guard request.upgrade else {
                return failedBeforeResponse(.malformedResponse, anotherUpstream: anotherUpstream())
            }
            state = .tunnel
            return .startTunnel
        }
        if status < 200 { return request.http10 ? .none : .forwardInformational }
        self.upstreamCloses = upstreamCloses
        responseBody = MessageBodyReader(response: framing)
        let dechunk = request.http10 && responseBody.isChunked
        // The client's connection ends with this response: when it asked; when the body ends at
        // the upstream's close or loses its framing; when its own body is not read whole (it was
        // answered early); after a refused upgrade (it may have sent more than it should).
        if dechunk || responseBody.endsAtClose || !requestBody.isDone || request.upgrade { closeClient = true }
        if responseBody.isDone {
            keepsRequestBody = false
            state = .idle
            return .forwardResponseHead(
                closeClient: closeClient, dechunk: false, complete: true, reuseUpstream: reusable(extraBytes: false))
        }
        // No retry from here on: nothing needs keeping.
        keepsRequestBody = false
        state = .streamingResponse
        return .forwardResponseHead(closeClient: closeClient, dechunk: dechunk, complete: false, reuseUpstream: false)
    }

    /// A response head that does not parse.
    public mutating func malformedResponse(anotherUpstream: Bool) -> Action {
        guard state == .awaitingResponse else { return .none }
        return failedBeforeResponse(.malformedResponse, anotherUpstream: anotherUpstream)
    }

    /// Upstream bytes after the final head: how many are the body's, and what to do. `data`
    /// gets the body's content ranges (used when de-chunking).
    public mutating func responseBodyBytes(_ bytes: UnsafeRawBufferPointer, data: (Range<Int>) -> Void = { _ in })
        -> (consumed: Int, action: Action)
    {
        guard state == .streamingResponse else { return (bytes.count, .none) }
        do throws(RequestHeadError) {
            switch try responseBody.consume(bytes, data: data) {
            case .needMore:
                return (bytes.count, .none)
            case .done(let consumed):
                state = .idle
                return (
                    consumed,
                    .finish(reuseUpstream: reusable(extraBytes: consumed < bytes.count), closeClient: closeClient)
                )
            }
        } catch {
            // Broken framing from the upstream: the client's response is cut, not made up.
            return (bytes.count, cutClient(report: .malformedBody))
        }
    }

    /// The upstream connection closed.
    public mutating func upstreamClosed(anotherUpstream: Bool) -> Action {
        switch state {
        case .awaitingResponse:
            return failedBeforeResponse(.closedBeforeResponse, anotherUpstream: anotherUpstream)
        case .streamingResponse where responseBody.endsAtClose:
            // The body's end: the client's connection ends with it (its head said so).
            state = .idle
            return .finish(reuseUpstream: false, closeClient: true)
        case .streamingResponse:
            return cutClient(report: nil)
        case .idle, .connecting, .tunnel, .closed:
            return .none
        }
    }

    /// The current ``deadline`` passed.
    public mutating func timedOut(anotherUpstream: Bool) -> Action {
        switch state {
        case .awaitingResponse where !requestBody.isDone:
            // The client stopped sending its body.
            return cutClient(report: nil)
        case .awaitingResponse:
            return failedBeforeResponse(
                .responseTimeout(milliseconds: responseTimeoutMilliseconds), anotherUpstream: anotherUpstream)
        case .streamingResponse:
            return cutClient(report: nil)
        case .idle, .connecting, .tunnel, .closed:
            return .none
        }
    }

    /// The client connection is to end after this response (a graceful shutdown began): a head
    /// not yet sent says `Connection: close`.
    public mutating func closeClientAfterResponse() {
        closeClient = true
    }

    /// The client connection closed: whatever is under way is abandoned.
    public mutating func clientClosed() {
        state = .closed
    }

    // MARK: - Rules

    /// Before any response byte: the next upstream when the request may go again (it never
    /// reached one, or it is idempotent with its body kept), else 502 (504 after a timeout).
    private mutating func failedBeforeResponse(_ kind: UpstreamFailure.Kind, anotherUpstream: Bool) -> Action {
        if anotherUpstream && (!requestSent || keepsRequestBody) {
            state = .connecting
            return .connect(report: kind)
        }
        if case .responseTimeout = kind { return answer(504, report: kind) }
        return answer(502, report: kind)
    }

    private mutating func answer(_ status: Int, report: UpstreamFailure.Kind?) -> Action {
        // A body nobody will read is better closed than drained.
        if !requestBody.isDone { closeClient = true }
        state = .idle
        return .answer(status: status, closeClient: closeClient, report: report)
    }

    private mutating func cutClient(report: UpstreamFailure.Kind?) -> Action {
        state = .closed
        return .cut(report: report)
    }

    /// The upstream connection carried one whole request and one whole response, and stays open.
    private func reusable(extraBytes: Bool) -> Bool {
        !extraBytes && !upstreamCloses && requestBody.isDone && !request.upgrade
    }
}
