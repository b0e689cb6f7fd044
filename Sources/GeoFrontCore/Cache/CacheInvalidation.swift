/// What an unsafe request invalidates (RFC 9111 §4.4): after a non-error response to an unsafe
/// method, the target URI, and the URIs of the response's `Location` and `Content-Location` when
/// they have the target's origin (scheme, host and port), as normalised cache URLs
/// (``CacheKey/normalisedURL(scheme:host:path:query:policy:)``).
public enum CacheInvalidation {
    /// Methods other than the safe ones (RFC 9110 §9.2.1: GET, HEAD, OPTIONS, TRACE), including
    /// unknown ones. Methods are case-sensitive.
    public static func isUnsafe(method: String) -> Bool {
        !["GET", "HEAD", "OPTIONS", "TRACE"].contains(method)
    }

    /// A "non-error" status (§4.4): 2xx or 3xx.
    public static func isNonError(status: Int) -> Bool {
        (200...399).contains(status)
    }

    /// Whether the response to `method` with `status` invalidates anything (§4.4).
    public static func invalidates(method: String, status: Int) -> Bool {
        isUnsafe(method: method) && isNonError(status: status)
    }

    /// The normalised URLs to invalidate, the target first, each once: the target URI (`scheme`,
    /// `host` with any port, `path`, `query` without `?`), and `location` and `contentLocation` when
    /// given, resolved against the target (RFC 3986 §5.2, fragments dropped) and of the same origin.
    public static func urls(
        scheme: String, host: String, path: String, query: String?, location: String?, contentLocation: String?,
        policy: CacheQueryPolicy
    ) -> [String] {
        let target = URIReference(
            scheme: scheme.lowercased(), authority: host, path: path.isEmpty ? "/" : path, query: query)
        var urls = [target.normalised(policy: policy)]
        for reference in [location, contentLocation].compactMap({ $0 }) {
            guard let resolved = target.resolve(reference), resolved.hasSameOrigin(as: target) else { continue }
            let url = resolved.normalised(policy: policy)
            if !urls.contains(url) { urls.append(url) }
        }
        return urls
    }
}

/// A URI split as RFC 3986 §3 does (scheme, authority, path, query; no fragment), for resolving
/// references (§5.2).
struct URIReference: Equatable {
    var scheme: String?
    var authority: String?
    var path: String
    var query: String?

    /// Splits `text` (surrounding spaces trimmed) by RFC 3986 Appendix B; nil when it has spaces or
    /// controls inside.
    init?(_ text: String) {
        var rest = Substring(text).drop { $0 == " " || $0 == "\t" }
        while let last = rest.last, last == " " || last == "\t" { rest = rest.dropLast() }
        guard rest.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7f }) else { return nil }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        if let colon = rest.firstIndex(of: ":"), let first = rest.first, first.isASCII, first.isLetter,
            rest[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }),
            !rest[..<colon].contains("/")
        {
            scheme = rest[..<colon].lowercased()
            rest = rest[rest.index(after: colon)...]
        }
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            authority = String(rest[..<end])
            rest = rest[end...]
        }
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        path = String(rest)
    }

    init(scheme: String?, authority: String?, path: String, query: String?) {
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.query = query
    }

    /// `reference` resolved against this (absolute) URI: RFC 3986 §5.2.2 (strict), with
    /// §5.2.3 merge and §5.2.4 dot-segment removal. Nil when `reference` does not parse.
    func resolve(_ reference: String) -> URIReference? {
        guard let r = URIReference(reference) else { return nil }
        if r.scheme != nil {
            return URIReference(
                scheme: r.scheme, authority: r.authority, path: Self.removeDotSegments(r.path), query: r.query)
        }
        if r.authority != nil {
            return URIReference(
                scheme: scheme, authority: r.authority, path: Self.removeDotSegments(r.path), query: r.query)
        }
        if r.path.isEmpty {
            return URIReference(scheme: scheme, authority: authority, path: path, query: r.query ?? query)
        }
        if r.path.hasPrefix("/") {
            return URIReference(
                scheme: scheme, authority: authority, path: Self.removeDotSegments(r.path), query: r.query)
        }
        let merged: String
        if authority != nil && path.isEmpty {
            merged = "/" + r.path
        } else {
            merged =
                String(path[..<(path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex)]) + r.path
        }
        return URIReference(scheme: scheme, authority: authority, path: Self.removeDotSegments(merged), query: r.query)
    }

    /// The host and port of the authority (user info dropped).
    var hostPort: String? {
        guard let authority else { return nil }
        if let at = authority.lastIndex(of: "@") { return String(authority[authority.index(after: at)...]) }
        return authority
    }

    /// Same scheme, host (case-insensitive) and port (a scheme's default port as none).
    func hasSameOrigin(as other: URIReference) -> Bool {
        guard let scheme, scheme == other.scheme, let host = hostPort, let otherHost = other.hostPort else {
            return false
        }
        return CacheKey.normalisedHost(host, scheme: scheme) == CacheKey.normalisedHost(otherHost, scheme: scheme)
    }

    func normalised(policy: CacheQueryPolicy) -> String {
        CacheKey.normalisedURL(
            scheme: scheme ?? "", host: hostPort ?? "", path: path, query: query, policy: policy)
    }

    /// RFC 3986 §5.2.4.
    static func removeDotSegments(_ path: String) -> String {
        guard path.contains(".") else { return path }
        var input = Substring(path)
        var output: [Substring] = []
        while !input.isEmpty {
            if input.hasPrefix("../") {
                input = input.dropFirst(3)
            } else if input.hasPrefix("./") {
                input = input.dropFirst(2)
            } else if input.hasPrefix("/./") {
                input = input.dropFirst(2)
            } else if input == "/." {
                input = "/"
            } else if input.hasPrefix("/../") {
                input = input.dropFirst(3)
                if !output.isEmpty { output.removeLast() }
            } else if input == "/.." {
                input = "/"
                if !output.isEmpty { output.removeLast() }
            } else if input == "." || input == ".." {
                input = ""
            } else {
                let start = input.hasPrefix("/") ? input.index(after: input.startIndex) : input.startIndex
                let end = input[start...].firstIndex(of: "/") ?? input.endIndex
                output.append(input[..<end])
                input = input[end...]
            }
        }
        return output.joined()
    }
}
