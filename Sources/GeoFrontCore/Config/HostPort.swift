import GeoIP

/// `host:port`, as in `listen` and `upstreams`. IPv6 literals are bracketed: `[::1]:8080`.
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    /// An IP literal (without brackets) or a DNS name.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; `allowZeroPort` admits port 0 (an ephemeral port, for listeners).
    public static func parse(_ text: String, allowZeroPort: Bool) -> Result<HostPort, HostPortError> {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(.init("missing \"]\" after the IPv6 address"))
            }
            host = text[text.index(after: text.startIndex)..<close]
            guard IPAddress(host)?.family == .v6 else { return .failure(.init("\"\(host)\" is not an IPv6 address")) }
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return .failure(.init("expected \":port\" after \"]\"")) }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(.init("expected host:port, e.g. 127.0.0.1:8080"))
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                return .failure(.init("an IPv6 address needs brackets, e.g. [::1]:8080"))
            }
            guard !host.isEmpty else { return .failure(.init("the host is missing")) }
            if IPAddress(host) == nil && !HostPort.isHostName(host) {
                return .failure(.init("\"\(host)\" is neither an IP address nor a host name"))
            }
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portText), port <= 65535, port > 0 || allowZeroPort
        else {
            return .failure(.init("the port must be a number in \(allowZeroPort ? 0 : 1)…65535"))
        }
        return .success(HostPort(host: String(host), port: port))
    }

    /// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
    public static func isHostName(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        for label in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-",
                label.utf8.allSatisfy({ byte in
                    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                        || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                })
            else { return false }
        }
        return true
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

public struct HostPortError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
