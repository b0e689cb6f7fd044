/// A route's `match` without its hosts, as bytes, for matching a ``RouteRequest`` without
/// strings (only a regex path makes one, of the path alone).
final class CompiledMatch: Sendable {
    enum Path: Sendable {
        case exact([UInt8])
        /// Without a trailing `/`; `/` itself matches every path.
        case prefix([UInt8])
        case regex(RoutePattern)
    }

    struct Pair: Sendable {
        let name: [UInt8]
        let value: [UInt8]
    }

    let path: Path
    let methods: [[UInt8]]
    /// Header names lower case.
    let headers: [Pair]
    let query: [Pair]

    /// The path's first bytes (up to 8, little-endian) every matching path starts with, and the
    /// mask of those bytes: a route whose key differs from the request's is passed over at the
    /// cost of one comparison (``RouteTable`` keeps them in a flat array).
    var quickKey: (key: UInt64, mask: UInt64) {
        let bytes: [UInt8]
        switch path {
        case .exact(let exact): bytes = exact
        case .prefix(let prefix): bytes = prefix.count == 1 ? [] : prefix  // `/` takes every path
        case .regex(let pattern): bytes = pattern.literalPrefix
        }
        var key: UInt64 = 0
        var mask: UInt64 = 0
        for (index, byte) in bytes.prefix(8).enumerated() {
            key |= UInt64(byte) << (8 * UInt64(index))
            mask |= 0xff << (8 * UInt64(index))
        }
        return (key, mask)
    }

    /// The request path's key to compare with ``quickKey`` (an empty path is `/`).
    @inline(__always)
    static func pathKey(_ bytes: UnsafeRawBufferPointer, _ span: RequestHead.Span) -> UInt64 {
        if span.count == 0 { return UInt64(UInt8(ascii: "/")) }
        var key: UInt64 = 0
        for index in 0..<min(8, span.count) {
            key |= UInt64(bytes[span.start + index]) << (8 * UInt64(index))
        }
        return key
    }

    init(_ match: RouteMatch) {
        switch match.path {
        case .exact(let text)?: path = .exact(Array(text.utf8))
        case .prefix(let text)?: path = .prefix(Array(text.utf8))
        case .regex(let pattern)?: path = .regex(pattern)
        case nil: path = .prefix(Array("/".utf8))
        }
        methods = match.methods.map { Array($0.utf8) }
        headers = match.headers.map { Pair(name: Array($0.name.lowercased().utf8), value: Array($0.value.utf8)) }
        query = match.query.map { Pair(name: Array($0.name.utf8), value: Array($0.value.utf8)) }
    }

    /// The order of two routes within one host class (Gateway API HTTPRoute): exact path, then
    /// longer prefix, then shorter prefix, then regex; then with methods; then more headers;
    /// then more query parameters. Nil on a tie (file order decides).
    static func precedes(_ a: CompiledMatch, _ b: CompiledMatch) -> Bool? {
        if a.path.rank != b.path.rank { return a.path.rank < b.path.rank }
        if case .prefix(let x) = a.path, case .prefix(let y) = b.path, x.count != y.count { return x.count > y.count }
        if a.methods.isEmpty != b.methods.isEmpty { return !a.methods.isEmpty }
        if a.headers.count != b.headers.count { return a.headers.count > b.headers.count }
        if a.query.count != b.query.count { return a.query.count > b.query.count }
        return nil
    }

    /// Whether the request holds every field but the host.
    @inline(__always)
    func matches(_ request: RouteRequest, _ bytes: UnsafeRawBufferPointer) -> Bool {
        mismatch(request, bytes) == nil
    }

    /// The first field (path, method, headers, query, in that order) the request fails; nil when
    /// it holds them all.
    func mismatch(_ request: RouteRequest, _ bytes: UnsafeRawBufferPointer) -> RouteMismatch? {
        if !pathMatches(request, bytes) { return .path }
        if !methods.isEmpty && !methods.contains(where: { RouteRequest.equals(bytes, request.method, $0) }) {
            return .method
        }
        for (index, header) in headers.enumerated() {
            guard let value = request.header(header.name, in: bytes), RouteRequest.equals(bytes, value, header.value)
            else { return .header(index) }
        }
        for (index, parameter) in query.enumerated() {
            guard let value = request.queryValue(parameter.name, in: bytes),
                RouteRequest.equals(bytes, value, parameter.value)
            else { return .query(index) }
        }
        return nil
    }

    @inline(__always)
    private func pathMatches(_ request: RouteRequest, _ bytes: UnsafeRawBufferPointer) -> Bool {
        // An absolute-form target without a path is "/".
        let span = request.path
        switch path {
        case .exact(let expected):
            if span.count == 0 { return expected.count == 1 }
            return RouteRequest.equals(bytes, span, expected)
        case .prefix(let prefix):
            if prefix.count == 1 { return true }
            guard span.count >= prefix.count else { return false }
            for offset in 0..<prefix.count where bytes[span.start + offset] != prefix[offset] { return false }
            return span.count == prefix.count || bytes[span.start + prefix.count] == UInt8(ascii: "/")
        case .regex(let pattern):
            if span.count == 0 { return pattern.matches("/") }
            guard pattern.mayMatch(bytes, span) else { return false }
            let text = String(decoding: bytes[span.start..<(span.start + span.count)], as: UTF8.self)
            return pattern.matches(text)
        }
    }
}

extension CompiledMatch.Path {
    var rank: Int {
        switch self {
        case .exact: return 0
        case .prefix: return 1
        case .regex: return 2
        }
    }
}
