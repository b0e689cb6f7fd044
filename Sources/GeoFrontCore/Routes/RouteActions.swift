/// What a route does to a request besides choosing its service, compiled to bytes once per
/// configuration: the path rewrite, the header edits each way, and the sticky cookie it sets.
public struct RouteActions: Sendable {
    /// The route's name as bytes.
    public let name: [UInt8]
    /// `rewrite.path_prefix`: the matched `match.path.prefix` and what replaces it.
    public let rewrite: PathRewrite?
    /// `request_headers`, for the upstream's request.
    public let requestHeaders: HeaderEditBytes
    /// `response_headers`, for the client's response.
    public let responseHeaders: HeaderEditBytes
    /// `sticky.cookie`: the `Set-Cookie` line's parts, when the route sets one.
    public let stickyCookie: (name: [UInt8], attributes: [UInt8])?

    public init(_ route: RouteConfig) {
        name = Array(route.name.utf8)
        if let replacement = route.rewritePathPrefix, case .prefix(let prefix)? = route.match.path {
            rewrite = PathRewrite(prefix: Array(prefix.utf8), replacement: Array(replacement.utf8))
        } else {
            rewrite = nil
        }
        requestHeaders = HeaderEditBytes(route.requestHeaders)
        responseHeaders = HeaderEditBytes(route.responseHeaders)
        if case .cookie(let cookie, let maxAge)? = route.sticky {
            let age = maxAge.map { "; Max-Age=\($0)" } ?? ""
            stickyCookie = (Array(cookie.utf8), Array("; Path=/; HttpOnly; SameSite=Lax\(age)".utf8))
        } else {
            stickyCookie = nil
        }
    }

    /// The `Set-Cookie` field line (with CRLF) for a new sticky cookie.
    public func setCookieLine(_ value: UInt64) -> [UInt8]? {
        guard let stickyCookie else { return nil }
        var line = Array("Set-Cookie: ".utf8)
        line += stickyCookie.name
        line.append(UInt8(ascii: "="))
        StickyCookie.withValue(value) { line += $0 }
        line += stickyCookie.attributes
        line += [13, 10]
        return line
    }
}

/// `rewrite.path_prefix`: replaces the matched prefix of the path, keeping the rest and the
/// query (Gateway API `ReplacePrefixMatch`: `/v1/users` with `/v1/` → `/` becomes `/users`;
/// `/v1` → `/v2` turns `/v1/x` into `/v2/x`; a path left empty becomes `/`).
public struct PathRewrite: Sendable, Hashable {
    public let prefix: [UInt8]
    public let replacement: [UInt8]

    /// `pathAndQuery` (which starts with the matched prefix) rewritten into `output` (cleared
    /// first, capacity kept).
    public func apply(_ pathAndQuery: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        output += replacement
        let restStart = min(prefix.count, pathAndQuery.count)
        let rest = UnsafeRawBufferPointer(rebasing: pathAndQuery[restStart...])
        let slash = UInt8(ascii: "/")
        if let first = rest.first, first != UInt8(ascii: "?") {
            let endsWithSlash = output.last == slash
            if first == slash && endsWithSlash {
                output.removeLast()
            } else if first != slash && !endsWithSlash {
                output.append(slash)
            }
        } else if output.isEmpty {
            output.append(slash)
        }
        output += rest
        if output.first != slash { output.insert(slash, at: 0) }
    }

    /// The same for a string (tests, the CLI).
    public func apply(_ pathAndQuery: String) -> String {
        var output: [UInt8] = []
        var text = pathAndQuery
        text.withUTF8 { apply(UnsafeRawBufferPointer($0), into: &output) }
        return String(decoding: output, as: UTF8.self)
    }
}

/// Header edits as bytes: the names whose lines are dropped (`remove`, and `set`, which replaces)
/// and the lines added (`set` then `add`, each with CRLF).
public struct HeaderEditBytes: Sendable {
    /// Lower-case names.
    public let dropped: [[UInt8]]
    public let lines: [UInt8]

    public init(_ edits: HeaderEdits) {
        dropped = (edits.remove + edits.set.map(\.name)).map { Array($0.lowercased().utf8) }
        var lines: [UInt8] = []
        for entry in edits.set + edits.add {
            lines += Array("\(Self.displayName(entry.name)): \(entry.value)\r\n".utf8)
        }
        self.lines = lines
    }

    public var isEmpty: Bool { dropped.isEmpty && lines.isEmpty }

    private init(dropped: [[UInt8]], lines: [UInt8]) {
        self.dropped = dropped
        self.lines = lines
    }

    /// These edits then `other`'s: both drop lists, both sets of lines.
    public func merged(with other: HeaderEditBytes) -> HeaderEditBytes {
        HeaderEditBytes(dropped: dropped + other.dropped, lines: lines + other.lines)
    }

    /// Whether the field line named `name` (a span of `bytes`) is dropped.
    @inline(__always)
    public func drops(_ bytes: UnsafeRawBufferPointer, _ name: RequestHead.Span) -> Bool {
        for entry in dropped where FieldLines.equals(bytes, name, lowercased: entry) { return true }
        return false
    }

    /// `x-route` → `X-Route` (names are case-insensitive; this is how people write them).
    static func displayName(_ name: String) -> String {
        name.split(separator: "-", omittingEmptySubsequences: false).map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined(separator: "-")
    }
}
