/// A strictly parsed HTTP/1.1 request head, as byte ranges into the buffer it was parsed from
/// (no copies, no strings). Only what routing and framing need is kept.
public struct RequestHead: Sendable {
    public enum Version: Sendable { case http10, http11 }

    public enum Body: Sendable, Equatable {
        case none
        case contentLength(Int)
        case chunked
    }

    /// Byte range of a field inside the head.
    public struct Span: Sendable, Equatable {
        public var start: Int
        public var count: Int

        public init(start: Int, count: Int) {
            self.start = start
            self.count = count
        }

        /// The span's bytes in `buffer` (the head it was parsed from).
        @inline(__always)
        public func bytes(in buffer: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: buffer[start..<(start + count)])
        }
    }

    public var method = Span(start: 0, count: 0)
    public var target = Span(start: 0, count: 0)
    public var version = Version.http11
    public var body = Body.none
    /// `Connection: close` (or HTTP/1.0 without `keep-alive`).
    public var closeRequested = false
    public var isConnect = false
    /// Values of `X-Forwarded-For` / `Forwarded` lines, in order (at most ``maxForwardingLines``).
    public var forwardedFor: [Span] = []
    public var forwarded: [Span] = []
    /// Tokens of `Connection` other than `close` and `keep-alive` (at most
    /// ``maxConnectionNames``): header names that are hop-by-hop for this request, or `upgrade`.
    public var connectionNames: [Span] = []
    /// `Connection` listed more names than ``connectionNames`` keeps.
    public var connectionNamesOverflow = false
    /// An `Expect` field is present.
    public var hasExpect = false
    /// The value of the first `Host` field line (an HTTP/1.1 head has exactly one); nil without one.
    public var host: Span?
    /// A gRPC call: `Content-Type` is `application/grpc`, alone or with a `+format` or parameters
    /// (its errors are answered with gRPC statuses).
    public var isGRPC = false
    /// Bytes of the whole head including the final CRLF CRLF.
    public var length = 0

    public static let maxForwardingLines = 8
    public static let maxConnectionNames = 8

    /// The forwarding arrays allocate on first use and are then reused (`reset` keeps capacity),
    /// so an idle connection carries none.
    public init() {}

    mutating func reset() {
        method = Span(start: 0, count: 0)
        target = Span(start: 0, count: 0)
        version = .http11
        body = .none
        isGRPC = false
        closeRequested = false
        isConnect = false
        forwardedFor.removeAll(keepingCapacity: true)
        forwarded.removeAll(keepingCapacity: true)
        connectionNames.removeAll(keepingCapacity: true)
        connectionNamesOverflow = false
        hasExpect = false
        host = nil
        length = 0
    }
}

/// Why a request head was refused.
public enum RequestHeadError: Error, Sendable, Equatable {
    /// Malformed: answer 400 and close.
    case badRequest
    /// Larger than the limit: answer 431 and close.
    case tooLarge
}
