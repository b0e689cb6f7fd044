/// The request a route explanation is about, read from strings the same way for `geofront route
/// --host … --path … --header K:V --cookie K=V` and admin `/route?host=…&path=…&header=K:V`.
/// Without any of them: `GET /` with no host and no headers.
public struct RouteQuestion: Sendable {
    /// Why the inputs do not make a request (the message names the input).
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public let method: String
    public let host: String?
    /// The path and query, as sent (`/v1/users?beta=1`).
    public let path: String
    /// The header field lines, in order; the cookies last, as one `Cookie` line.
    public let headers: [(name: String, value: String)]
    /// The request the decision reads.
    public let request: OwnedRouteRequest

    /// - Parameters:
    ///   - headers: `NAME:VALUE` each (spaces around either are dropped).
    ///   - cookies: `NAME=VALUE` each, sent as one `Cookie` line.
    public init(
        method: String = "GET", host: String? = nil, path: String = "/", headers: [String] = [],
        cookies: [String] = []
    ) throws(Invalid) {
        for (what, text) in [("method", method), ("host", host ?? ""), ("path", path)] + headers.map({ ("header", $0) })
            + cookies.map({ ("cookie", $0) })
        where text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
            throw Invalid(description: "the \(what) \(JSONText.string(text)) contains a control character")
        }
        guard !method.isEmpty else { throw Invalid(description: "the method is empty") }
        guard path.hasPrefix("/") else {
            throw Invalid(description: "the path must start with \"/\": \(JSONText.string(path))")
        }
        var lines: [(name: String, value: String)] = []
        for text in headers {
            guard let colon = text.firstIndex(of: ":"), !text[..<colon].trimmingSpaces.isEmpty else {
                throw Invalid(description: "a header is NAME:VALUE, not \(JSONText.string(text))")
            }
            lines.append((text[..<colon].trimmingSpaces, text[text.index(after: colon)...].trimmingSpaces))
        }
        for text in cookies {
            guard let equals = text.firstIndex(of: "="), !text[..<equals].trimmingSpaces.isEmpty else {
                throw Invalid(description: "a cookie is NAME=VALUE, not \(JSONText.string(text))")
            }
        }
        if !cookies.isEmpty { lines.append(("Cookie", cookies.map(\.trimmingSpaces).joined(separator: "; "))) }
        let host = host.flatMap { $0.isEmpty ? nil : $0 }
        do {
            request = try OwnedRouteRequest(method: method, target: path, host: host, headers: lines)
        } catch {
            throw Invalid(
                description: "not a valid HTTP request: a character in the method, host, path or a header name "
                    + "is not allowed there")
        }
        self.method = method
        self.host = host
        self.path = path
        self.headers = lines
    }

    /// `GET /` with no host and no headers.
    public static let root = try! RouteQuestion()

    /// For people: `GET /v1/users, host api.example.com, x-tenant: acme, Cookie: gf=1`.
    public var description: String {
        ([method + " " + path, "host " + (host ?? "none")] + headers.map { "\($0.name): \($0.value)" })
            .joined(separator: ", ")
    }

    /// `{"method", "host", "path", "headers": ["name: value", …]}`.
    public var json: String {
        JSONText.object([
            ("method", JSONText.string(method)),
            ("host", host.map { JSONText.string($0) } ?? "null"),
            ("path", JSONText.string(path)),
            ("headers", "[" + headers.map { JSONText.string("\($0.name): \($0.value)") }.joined(separator: ",") + "]"),
        ])
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
