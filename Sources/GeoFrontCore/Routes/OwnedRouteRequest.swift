/// A ``RouteRequest`` built from strings, with the bytes it points into: for tests and the CLI
/// (`geofront route --host … --path …`). The head is written out as HTTP/1.1 (HTTP/1.0 without a
/// host) and read by ``RequestHeadParser``, so it is held to the same rules as a real request.
public struct OwnedRouteRequest: Sendable {
    public let bytes: [UInt8]
    public let request: RouteRequest

    /// `target` is the request target as sent (`/v1/users?beta=1`); `headers` are more field
    /// lines in order (a `Cookie` line among them for sticky cookies). Throws when the parser
    /// refuses the head (a space in the target, a bad header name).
    public init(
        method: String = "GET", target: String, host: String? = nil, headers: [(name: String, value: String)] = []
    ) throws(RequestHeadError) {
        var text = "\(method) \(target) HTTP/1.\(host == nil ? 0 : 1)\r\n"
        if let host { text += "Host: \(host)\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        let bytes = Array(text.utf8)
        let parsed = bytes.withUnsafeBytes { buffer -> Result<RouteRequest, RequestHeadError> in
            var head = RequestHead()
            do throws(RequestHeadError) {
                guard try RequestHeadParser.parse(buffer, limit: buffer.count, into: &head) == .complete,
                    head.length == buffer.count
                else { return .failure(.badRequest) }
            } catch {
                return .failure(error)
            }
            return .success(RouteRequest(head: head, bytes: buffer))
        }
        self.bytes = bytes
        request = try parsed.get()
    }

    /// Calls `body` with the request and its bytes.
    public func withRequest<Result>(_ body: (RouteRequest, UnsafeRawBufferPointer) throws -> Result) rethrows
        -> Result
    {
        try bytes.withUnsafeBytes { try body(request, $0) }
    }

    /// The text of a span of ``bytes`` (for tests and display).
    public func text(_ span: RequestHead.Span?) -> String? {
        span.map { String(decoding: bytes[$0.start..<($0.start + $0.count)], as: UTF8.self) }
    }
}
