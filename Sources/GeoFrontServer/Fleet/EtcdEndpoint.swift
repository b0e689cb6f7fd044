import Foundation

/// An `etcd://[USER:PASSWORD@]HOST:PORT/PREFIX` address (`etcds://` for HTTPS): where the fleet's
/// configuration lives (`PREFIX/config`) and where each instance records itself
/// (`PREFIX/instances/ID`).
public struct EtcdEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Starts with `/` and has no trailing `/`: `/geofront`.
    public var prefix: String
    public var tls: Bool
    public var user: String?
    public var password: String?
    /// `etcds://` only: a PEM file of the authorities that sign etcd's certificate (`?ca=PATH`;
    /// without it, the system's trust store), and this client's certificate and key for etcd's
    /// `--client-cert-auth` (`&cert=PATH&key=PATH`).
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// True when `text` names etcd rather than a file.
    public static func isEtcdAddress(_ text: String) -> Bool {
        text.hasPrefix("etcd://") || text.hasPrefix("etcds://")
    }

    public static func parse(_ text: String) throws(Invalid) -> EtcdEndpoint {
        let tls: Bool
        let rest: Substring
        if text.hasPrefix("etcd://") {
            tls = false
            rest = text.dropFirst("etcd://".count)
        } else if text.hasPrefix("etcds://") {
            tls = true
            rest = text.dropFirst("etcds://".count)
        } else {
            throw Invalid(description: "\(text): not an etcd address (etcd://HOST:PORT/PREFIX)")
        }
        var remainder = rest
        var caFile: String?
        var certificateFile: String?
        var keyFile: String?
        if let question = remainder.firstIndex(of: "?") {
            for pair in remainder[remainder.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                let name = String(parts[0])
                let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
                guard tls else {
                    throw Invalid(description: "\(text): ?\(name)= needs etcds:// (TLS)")
                }
                guard !value.isEmpty else { throw Invalid(description: "\(text): \(name) needs a file path") }
                switch name {
                case "ca": caFile = value
                case "cert": certificateFile = value
                case "key": keyFile = value
                default:
                    throw Invalid(description: "\(text): unknown option \(name) (allowed: ca, cert, key)")
                }
            }
            guard (certificateFile == nil) == (keyFile == nil) else {
                throw Invalid(description: "\(text): cert and key go together")
            }
            remainder = remainder[..<question]
        }
        guard let slash = remainder.firstIndex(of: "/") else {
            throw Invalid(description: "\(text): needs a key prefix (etcd://HOST:PORT/PREFIX)")
        }
        var authority = remainder[..<slash]
        var prefix = String(remainder[slash...])
        while prefix.count > 1 && prefix.hasSuffix("/") { prefix.removeLast() }
        guard prefix.count > 1 else {
            throw Invalid(description: "\(text): needs a key prefix (etcd://HOST:PORT/PREFIX)")
        }
        var user: String?
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let parts = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            user = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            password = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
        }
        let host: String
        let portText: Substring
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            portText = authority[authority.index(after: close)...].drop { $0 == ":" }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
            portText = ""
        }
        guard !host.isEmpty else { throw Invalid(description: "\(text): needs a host") }
        var port = 2379
        if !portText.isEmpty {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw Invalid(description: "\(text): \(portText) is not a port")
            }
            port = parsed
        }
        var endpoint = EtcdEndpoint(host: host, port: port, prefix: prefix, tls: tls, user: user, password: password)
        endpoint.caFile = caFile
        endpoint.certificateFile = certificateFile
        endpoint.keyFile = keyFile
        return endpoint
    }

    /// The key of the configuration document.
    public var configKey: String { prefix + "/config" }

    /// The keys of the instance records start with this.
    public var instancesPrefix: String { prefix + "/instances/" }

    /// The keys of the health votes start with this: `PREFIX/health/ID/REGION/TARGET`.
    public var healthPrefix: String { prefix + "/health/" }

    /// The address without the password.
    public var description: String {
        let scheme = tls ? "etcds" : "etcd"
        let who = user.map { "\($0)@" } ?? ""
        let hostText = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(who)\(hostText):\(port)\(prefix)"
    }

    /// `HOST:PORT`, for messages.
    public var address: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
