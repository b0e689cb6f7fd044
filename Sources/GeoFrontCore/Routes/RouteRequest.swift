/// What routes match a request by, as byte ranges into the buffer its head was parsed from: no
/// strings, no copies. Every lookup takes that buffer (`bytes`), which must outlive the call.
///
/// Build it from a parsed head with ``init(head:bytes:)`` (the server's call), or from strings
/// with ``OwnedRouteRequest`` (tests, the CLI).
public struct RouteRequest: Sendable {
    public typealias Span = RequestHead.Span

    public var method: Span
    /// The target's path (without query or fragment). Empty only for an absolute-form target
    /// without a path, which routes treat as `/`.
    public var path: Span
    /// The query after `?` (without a fragment); nil when the target has no `?`.
    public var query: Span?
    /// The host without its port and without a trailing dot: the authority of an absolute-form
    /// target, else the `Host` field; nil when there is neither.
    public var host: Span?
    /// The field lines, each ending with CRLF, then the CRLF of the empty line that ends the head.
    public var fields: Span

    public init(method: Span, path: Span, query: Span?, host: Span?, fields: Span) {
        self.method = method
        self.path = path
        self.query = query
        self.host = host
        self.fields = fields
    }

    /// The routing view of a head ``RequestHeadParser`` accepted from `bytes`.
    public init(head: RequestHead, bytes: UnsafeRawBufferPointer) {
        method = head.method
        let targetEnd = head.target.start + head.target.count
        // The request line ends with " HTTP/1.x" CRLF: 11 bytes after the target.
        let fieldsStart = targetEnd + 11
        fields = Span(start: fieldsStart, count: max(0, head.length - fieldsStart))
        var index = head.target.start
        var authority: Span?
        // Absolute form: scheme "://" authority [path].
        if index < targetEnd && bytes[index] != UInt8(ascii: "/") {
            var scan = index
            while scan + 2 < targetEnd
                && !(bytes[scan] == UInt8(ascii: ":") && bytes[scan + 1] == UInt8(ascii: "/")
                    && bytes[scan + 2] == UInt8(ascii: "/"))
            {
                scan += 1
            }
            if scan + 2 < targetEnd {
                let authorityStart = scan + 3
                var authorityEnd = authorityStart
                while authorityEnd < targetEnd && bytes[authorityEnd] != UInt8(ascii: "/")
                    && bytes[authorityEnd] != UInt8(ascii: "?") && bytes[authorityEnd] != UInt8(ascii: "#")
                {
                    authorityEnd += 1
                }
                authority = Span(start: authorityStart, count: authorityEnd - authorityStart)
                index = authorityEnd
            }
        }
        let pathStart = index
        while index < targetEnd && bytes[index] != UInt8(ascii: "?") && bytes[index] != UInt8(ascii: "#") {
            index += 1
        }
        path = Span(start: pathStart, count: index - pathStart)
        query = nil
        if index < targetEnd && bytes[index] == UInt8(ascii: "?") {
            let queryStart = index + 1
            index = queryStart
            while index < targetEnd && bytes[index] != UInt8(ascii: "#") { index += 1 }
            query = Span(start: queryStart, count: index - queryStart)
        }
        host = nil
        // The parser kept the first `Host` field's value (nil: the head has none).
        let hostField = authority ?? head.host
        if let hostField { host = Self.withoutPort(hostField, in: bytes) }
    }

    /// The value of the first field line named `lowercasedName` (any case in the request).
    public func header(_ lowercasedName: [UInt8], in bytes: UnsafeRawBufferPointer) -> Span? {
        var found: Span?
        Self.forEachField(in: bytes, fields: fields) { name, value in
            guard FieldLines.equals(bytes, name, lowercased: lowercasedName) else { return true }
            found = value
            return false
        }
        return found
    }

    /// The value of the first query parameter named exactly `name` (`name` alone: an empty value).
    public func queryValue(_ name: [UInt8], in bytes: UnsafeRawBufferPointer) -> Span? {
        guard let query else { return nil }
        var index = query.start
        let end = query.start + query.count
        while index < end {
            let pairStart = index
            while index < end && bytes[index] != UInt8(ascii: "&") { index += 1 }
            var equals = pairStart
            while equals < index && bytes[equals] != UInt8(ascii: "=") { equals += 1 }
            if Self.equals(bytes, Span(start: pairStart, count: equals - pairStart), name) {
                let valueStart = min(equals + 1, index)
                return Span(start: valueStart, count: index - valueStart)
            }
            index += 1
        }
        return nil
    }

    /// The value of the first cookie named exactly `name` in the `Cookie` field lines, without
    /// surrounding double quotes.
    public func cookie(_ name: [UInt8], in bytes: UnsafeRawBufferPointer) -> Span? {
        var found: Span?
        Self.forEachField(in: bytes, fields: fields) { fieldName, value in
            guard FieldLines.equals(bytes, fieldName, "cookie") else { return true }
            var index = value.start
            let end = value.start + value.count
            while index < end {
                while index < end && (bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: ";")) {
                    index += 1
                }
                let pairStart = index
                while index < end && bytes[index] != UInt8(ascii: ";") { index += 1 }
                var equals = pairStart
                while equals < index && bytes[equals] != UInt8(ascii: "=") { equals += 1 }
                guard equals < index, Self.equals(bytes, Span(start: pairStart, count: equals - pairStart), name)
                else { continue }
                var valueStart = equals + 1
                var valueEnd = index
                while valueEnd > valueStart && bytes[valueEnd - 1] == UInt8(ascii: " ") { valueEnd -= 1 }
                if valueEnd - valueStart >= 2 && bytes[valueStart] == UInt8(ascii: "\"")
                    && bytes[valueEnd - 1] == UInt8(ascii: "\"")
                {
                    valueStart += 1
                    valueEnd -= 1
                }
                found = Span(start: valueStart, count: valueEnd - valueStart)
                return false
            }
            return true
        }
        return found
    }

    /// Calls `body` with each field line's name and value until it returns false. The lines were
    /// checked by the parser: each is `name ":" OWS value OWS CRLF`.
    @inline(__always)
    public static func forEachField(
        in bytes: UnsafeRawBufferPointer, fields: Span, _ body: (_ name: Span, _ value: Span) -> Bool
    ) {
        var index = fields.start
        let end = fields.start + fields.count
        while index < end && bytes[index] != UInt8(ascii: "\r") {
            let nameStart = index
            while index < end && bytes[index] != UInt8(ascii: ":") { index += 1 }
            let name = Span(start: nameStart, count: index - nameStart)
            index += 1
            while index < end && (bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t")) {
                index += 1
            }
            let valueStart = index
            var valueEnd = index
            while index < end && bytes[index] != UInt8(ascii: "\r") {
                if bytes[index] != UInt8(ascii: " ") && bytes[index] != UInt8(ascii: "\t") { valueEnd = index + 1 }
                index += 1
            }
            index += 2
            if !body(name, Span(start: valueStart, count: valueEnd - valueStart)) { return }
        }
    }

    /// `host[:port]` → `host`; `[v6]:port` → `[v6]`; a trailing dot dropped.
    static func withoutPort(_ span: Span, in bytes: UnsafeRawBufferPointer) -> Span {
        let end = span.start + span.count
        var index = span.start
        if index < end && bytes[index] == UInt8(ascii: "[") {
            while index < end && bytes[index] != UInt8(ascii: "]") { index += 1 }
            return Span(start: span.start, count: min(index + 1, end) - span.start)
        }
        while index < end && bytes[index] != UInt8(ascii: ":") { index += 1 }
        if index > span.start && bytes[index - 1] == UInt8(ascii: ".") { index -= 1 }
        return Span(start: span.start, count: index - span.start)
    }

    /// Whether `span` of `bytes` is exactly `expected`.
    @inline(__always)
    static func equals(_ bytes: UnsafeRawBufferPointer, _ span: Span, _ expected: [UInt8]) -> Bool {
        guard span.count == expected.count else { return false }
        for offset in 0..<span.count where bytes[span.start + offset] != expected[offset] { return false }
        return true
    }
}
