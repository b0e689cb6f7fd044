import GeoIP

/// Where a Redis server is and how to log in: `redis://[user[:password]@]host[:port][/db]`
/// (port 6379 and database 0 by default; `%XX` escapes in the user and password). A user
/// without a password takes it from `password_env`.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// An IP literal (without brackets) or a DNS name.
    public var host: String
    public var port = 6379
    /// `AUTH user password` (Redis 6 ACLs) when set, else `AUTH password`.
    public var username: String?
    public var password: String?
    /// `SELECT` after connecting, unless 0.
    public var database = 0

    public init(host: String, port: Int = 6379) {
        self.host = host
        self.port = port
    }

    /// The URL without its password (for logs and messages).
    public var description: String {
        var text = "redis://"
        if password != nil { text += (username ?? "") + ":***@" }
        text += HostPort(host: host, port: port).description
        if database != 0 { text += "/\(database)" }
        return text
    }

    /// Parses a `redis://` URL; the error says what is wrong without repeating a password.
    public static func parse(_ url: String) -> Result<RedisEndpoint, HostPortError> {
        if url.hasPrefix("rediss://") {
            return .failure(.init("TLS to Redis (rediss://) is not supported; use redis:// on a private network"))
        }
        guard url.hasPrefix("redis://") else {
            return .failure(.init("must start with redis://, e.g. redis://127.0.0.1:6379"))
        }
        var rest = Substring(url.dropFirst("redis://".count))
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            // user, :password or user:password
            let colon = userInfo.firstIndex(of: ":") ?? userInfo.endIndex
            guard let user = percentDecoded(userInfo[..<colon]),
                let secret = percentDecoded(userInfo[colon...].dropFirst())
            else { return .failure(.init("the user or password has a bad %-escape")) }
            if colon != userInfo.endIndex {
                guard !secret.isEmpty else { return .failure(.init("the password after \":\" is empty")) }
                password = secret
            } else if user.isEmpty {
                return .failure(.init("nothing before \"@\": give user, :password or user:password"))
            }
            username = user.isEmpty ? nil : user
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let text = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !text.isEmpty {
                guard text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(text),
                    number <= 10_000
                else { return .failure(.init("the database after \"/\" must be a number in 0…10000")) }
                database = number
            }
        }
        if rest.contains("?") || rest.contains("#") {
            return .failure(.init("a query or fragment is not allowed"))
        }
        guard !rest.isEmpty else { return .failure(.init("the host is missing")) }
        // host[:port]: the port is optional here, unlike `listen`.
        let hasPort = rest.hasPrefix("[") ? rest.contains("]:") : rest.contains(":")
        let hostPort: HostPort
        switch HostPort.parse(hasPort ? String(rest) : String(rest) + ":6379", allowZeroPort: false) {
        case .success(let parsed): hostPort = parsed
        case .failure(let error): return .failure(error)
        }
        var endpoint = RedisEndpoint(host: hostPort.host, port: hostPort.port)
        endpoint.username = username
        endpoint.password = password
        endpoint.database = database
        return .success(endpoint)
    }

    /// `%XX` escapes decoded; nil when one is malformed or the result is not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(IPAddress.hexValue),
                let low = iterator.next().flatMap(IPAddress.hexValue)
            else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
