import GeoIP

/// A region's `redirect_url`: `http` or `https`, a host, an optional port and an optional path
/// prefix; no user info, query or fragment. The request's path and query are appended to it.
public struct RedirectURL: Hashable, Sendable, CustomStringConvertible {
    public let scheme: String
    /// Host as written, with brackets for IPv6 literals, plus `:port` when given.
    public let authority: String
    /// Path prefix without a trailing slash; empty for none.
    public let pathPrefix: String

    /// `scheme://authority/prefix`, the part of `Location` that always comes from config.
    public var base: String { "\(scheme)://\(authority)\(pathPrefix)" }
    public var description: String { base }

    public static func parse(_ text: String) -> Result<RedirectURL, HostPortError> {
        guard let schemeEnd = text.range(of: "://") else {
            return .failure(HostPortError("needs a scheme and a host, e.g. https://eu.example.com"))
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            return .failure(HostPortError("the scheme must be http or https, not \"\(scheme)\""))
        }
        let rest = text[schemeEnd.upperBound...]
        for byte in rest.utf8 where byte <= 0x20 || byte >= 0x7f {
            return .failure(HostPortError("contains a space, control or non-ASCII character"))
        }
        if rest.contains("?") || rest.contains("#") {
            return .failure(HostPortError("must not have a query or fragment: the request's own are appended"))
        }
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        guard !authority.isEmpty else { return .failure(HostPortError("the host is missing")) }
        if authority.contains("@") { return .failure(HostPortError("must not contain user info (\"@\")")) }
        // Validate host[:port] with the same rules as listen addresses.
        let hostPort: String
        if authority.hasPrefix("[") {
            hostPort = authority.contains("]:") ? String(authority) : "\(authority):1"
        } else {
            hostPort = authority.contains(":") ? String(authority) : "\(authority):1"
        }
        if case .failure(let error) = HostPort.parse(hostPort, allowZeroPort: false) {
            return .failure(HostPortError("bad host: \(error.reason)"))
        }
        while path.hasSuffix("/") { path.removeLast() }
        return .success(RedirectURL(scheme: scheme, authority: String(authority), pathPrefix: path))
    }

    private init(scheme: String, authority: String, pathPrefix: String) {
        self.scheme = scheme
        self.authority = authority
        self.pathPrefix = pathPrefix
    }
}
