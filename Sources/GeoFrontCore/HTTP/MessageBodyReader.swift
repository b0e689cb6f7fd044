/// Finds where a message body ends as its bytes stream past (RFC 9112 §6.3): after a length,
/// after chunked framing (strictly parsed by ``ChunkedBodySkipper``), or when the connection
/// closes. Bytes are looked at, never kept.
public struct MessageBodyReader: Sendable {
    private enum State: Sendable {
        case done
        case length(remaining: Int)
        case chunked(ChunkedBodySkipper)
        case untilClose
    }

    public enum Outcome: Sendable, Equatable {
        /// Every byte given belongs to the body, which goes on.
        case needMore
        /// The body ended after this many bytes of the input (what follows is not the body's).
        case done(consumed: Int)
    }

    private var state: State

    /// A request body as its head announced it.
    public init(request body: RequestHead.Body) {
        switch body {
        case .none: state = .done
        case .contentLength(let length): state = length == 0 ? .done : .length(remaining: length)
        case .chunked: state = .chunked(ChunkedBodySkipper())
        }
    }

    /// A response body as its head (and the request's method) frame it.
    public init(response framing: ResponseHead.Framing) {
        switch framing {
        case .none: state = .done
        case .contentLength(let length): state = length == 0 ? .done : .length(remaining: length)
        case .chunked: state = .chunked(ChunkedBodySkipper())
        case .untilClose: state = .untilClose
        }
    }

    /// The whole body has been read.
    public var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// The body ends only when its connection closes.
    public var endsAtClose: Bool {
        if case .untilClose = state { return true }
        return false
    }

    /// The body is chunked (its framing is part of its bytes).
    public var isChunked: Bool {
        if case .chunked = state { return true }
        return false
    }

    /// Reads `bytes` as the body's next bytes. Throws on broken chunked framing.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(RequestHeadError) -> Outcome {
        try consume(bytes) { _ in }
    }

    /// As ``consume(_:)``, telling `data` where the body's content lies in `bytes` (all of it, or
    /// the chunk data without the framing).
    @inline(__always)
    public mutating func consume(_ bytes: UnsafeRawBufferPointer, data: (Range<Int>) -> Void)
        throws(RequestHeadError) -> Outcome
    {
        try consume(bytes, data: data, trailer: { _ in })
    }

    /// As ``consume(_:data:)``, also telling `trailer` where a chunked body's trailer section
    /// lies in `bytes` (``ChunkedBodySkipper/consume(_:data:trailer:)``).
    @inline(__always)
    public mutating func consume(
        _ bytes: UnsafeRawBufferPointer, data: (Range<Int>) -> Void, trailer: (Range<Int>) -> Void
    ) throws(RequestHeadError) -> Outcome {
        switch state {
        case .done:
            return .done(consumed: 0)
        case .untilClose:
            if !bytes.isEmpty { data(0..<bytes.count) }
            return .needMore
        case .length(let remaining):
            if bytes.count < remaining {
                if !bytes.isEmpty { data(0..<bytes.count) }
                state = .length(remaining: remaining - bytes.count)
                return .needMore
            }
            data(0..<remaining)
            state = .done
            return .done(consumed: remaining)
        case .chunked(var skipper):
            let outcome = try skipper.consume(bytes, data: data, trailer: trailer)
            switch outcome {
            case .needMore:
                state = .chunked(skipper)
                return .needMore
            case .done(let consumed):
                state = .done
                return .done(consumed: consumed)
            }
        }
    }
}
