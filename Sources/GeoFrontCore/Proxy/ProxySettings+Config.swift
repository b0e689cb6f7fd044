import GeoIP

// The readers of the `proxy` section (with `proxy.outlier_detection` and `proxy.upstream_tls`),
// of load-balancing policies (`proxy.lb` and a region's `lb`) and of a region's `upstreams`
// entries. The loader and the region reader call them; each reports its problems to the
// ``ConfigReader`` it is given.

extension ProxySettings {
    /// The keys of the `proxy` object.
    static let configKeys = [
        "connect_timeout_ms", "response_timeout_ms", "idle_timeout_ms", "max_attempts", "max_connections_per_upstream",
        "pool_idle_timeout_ms", "host_header", "strip_response_headers", "server_header", "tunnel_idle_timeout_ms",
        "lb", "outlier_detection",
        "upstream_tls",
    ]

    /// Reads the `proxy` object; the defaults when it is absent, and for each key it leaves out.
    static func read(_ value: JSONValue?, reader: inout ConfigReader) -> ProxySettings {
        var proxy = ProxySettings()
        guard let value, let fields = reader.object(value, at: "proxy", allowed: configKeys) else { return proxy }
        func key(_ name: String) -> String { ConfigReader.join("proxy", name) }
        func milliseconds(_ name: String, _ target: inout Int) {
            reader.integer(fields, name, at: "proxy", in: 1...86_400_000, into: &target)
        }
        milliseconds("connect_timeout_ms", &proxy.connectTimeoutMilliseconds)
        milliseconds("response_timeout_ms", &proxy.responseTimeoutMilliseconds)
        milliseconds("idle_timeout_ms", &proxy.idleTimeoutMilliseconds)
        milliseconds("pool_idle_timeout_ms", &proxy.poolIdleTimeoutMilliseconds)
        milliseconds("tunnel_idle_timeout_ms", &proxy.tunnelIdleTimeoutMilliseconds)
        reader.integer(fields, "max_attempts", at: "proxy", in: 1...10, into: &proxy.maxAttempts)
        reader.integer(
            fields, "max_connections_per_upstream", at: "proxy", in: 1...100_000, into: &proxy.maxConnectionsPerUpstream
        )
        if let value = fields["host_header"], let text = reader.nonEmptyString(value, at: key("host_header")) {
            switch text {
            case "client": proxy.hostHeader = .client
            case "upstream": proxy.hostHeader = .upstream
            default:
                if text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) {
                    proxy.hostHeader = .fixed(text)
                } else {
                    reader.fail(key("host_header"), "\(value.brief) must be \"client\", \"upstream\" or a host name")
                }
            }
        }
        if let value = fields["strip_response_headers"],
            let list = reader.array(value, at: key("strip_response_headers"))
        {
            for (index, item) in list.enumerated() {
                let itemPath = ConfigReader.join(key("strip_response_headers"), index)
                guard let name = reader.nonEmptyString(item, at: itemPath) else { continue }
                if isHeaderName(name) {
                    proxy.stripResponseHeaders.append(name.lowercased())
                } else {
                    reader.fail(itemPath, "\(item.brief) is not a header name")
                }
            }
        }
        if let value = fields["server_header"], let text = reader.nonEmptyString(value, at: key("server_header")) {
            switch text {
            case "strip": proxy.passServerHeader = false
            case "pass": proxy.passServerHeader = true
            default: reader.fail(key("server_header"), "\(value.brief) must be \"strip\" or \"pass\"")
            }
        }
        if let value = fields["lb"], let policy = LoadBalancing.read(value, at: key("lb"), reader: &reader) {
            proxy.loadBalancing = policy
        }
        if let value = fields["outlier_detection"],
            let settings = OutlierDetectionSettings.read(value, at: key("outlier_detection"), reader: &reader)
        {
            proxy.outlierDetection = settings
        }
        if let value = fields["upstream_tls"],
            let settings = UpstreamTLSSettings.read(value, at: key("upstream_tls"), reader: &reader)
        {
            proxy.upstreamTLS = settings
        }
        return proxy
    }

    /// An HTTP field name (RFC 9110 token).
    private static func isHeaderName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(RequestHeadParser.isTokenByte)
    }
}

extension LoadBalancing {
    /// Reads a policy name (`proxy.lb`, a region's `lb`).
    static func read(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> LoadBalancing? {
        guard let text = reader.string(value, at: path) else { return nil }
        guard let policy = LoadBalancing(rawValue: text) else {
            reader.fail(path, "\(value.brief) is not a policy; allowed: \"round_robin\", \"least_requests\"")
            return nil
        }
        return policy
    }
}

extension OutlierDetectionSettings {
    /// The keys of the `proxy.outlier_detection` object.
    static let configKeys = [
        "consecutive_failures", "count_5xx", "base_ejection_ms", "max_ejection_ms", "max_ejection_percent",
    ]

    /// Reads `proxy.outlier_detection` (at `path`); missing keys keep their defaults. The settings
    /// are returned even when a value was refused (and reported); nil only when it is no object.
    static func read(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> OutlierDetectionSettings? {
        guard let outlier = reader.object(value, at: path, allowed: configKeys) else { return nil }
        var settings = OutlierDetectionSettings()
        reader.integer(outlier, "consecutive_failures", at: path, in: 1...1000, into: &settings.consecutiveFailures)
        if let value = outlier["count_5xx"], let flag = reader.bool(value, at: ConfigReader.join(path, "count_5xx")) {
            settings.count5xx = flag
        }
        reader.integer(
            outlier, "base_ejection_ms", at: path, in: 1...86_400_000, into: &settings.baseEjectionMilliseconds)
        reader.integer(
            outlier, "max_ejection_ms", at: path, in: 1...86_400_000, into: &settings.maxEjectionMilliseconds)
        reader.integer(outlier, "max_ejection_percent", at: path, in: 0...100, into: &settings.maxEjectionPercent)
        if settings.maxEjectionMilliseconds < settings.baseEjectionMilliseconds {
            reader.fail(
                ConfigReader.join(path, "max_ejection_ms"),
                "\(settings.maxEjectionMilliseconds) is less than base_ejection_ms (\(settings.baseEjectionMilliseconds))"
            )
        }
        return settings
    }
}

extension UpstreamTLSSettings {
    /// Reads `proxy.upstream_tls` (at `path`); missing keys keep their defaults, and so do refused
    /// (reported) values. nil only when it is no object.
    static func read(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> UpstreamTLSSettings? {
        guard let tls = reader.object(value, at: path, allowed: ["ca_file", "verify"]) else { return nil }
        var settings = UpstreamTLSSettings()
        if let value = tls["ca_file"], value != .null,
            let file = reader.nonEmptyString(value, at: ConfigReader.join(path, "ca_file"))
        {
            settings.caFile = reader.resolve(file)
        }
        if let value = tls["verify"], let flag = reader.bool(value, at: ConfigReader.join(path, "verify")) {
            settings.verify = flag
        }
        return settings
    }
}

extension UpstreamConfig {
    /// Reads a region's `upstreams` entry (at `path`): `"host:port"`, `"https://host:port"`, or
    /// `{"address": "host:port", "weight": 2, "tls": true, "server_name": "origin.example",
    /// "protocol": "h2"}`.
    static func read(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> UpstreamConfig? {
        func parseAddress(_ text: String, at path: String) -> (HostPort, Bool)? {
            var address = text
            var tls = false
            if address.lowercased().hasPrefix("https://") {
                tls = true
                address = String(address.dropFirst("https://".count))
            } else if address.lowercased().hasPrefix("http://") {
                address = String(address.dropFirst("http://".count))
            }
            switch HostPort.parse(address, allowZeroPort: false) {
            case .success(let hostPort): return (hostPort, tls)
            case .failure(let error):
                reader.fail(path, "\(JSONValue.string(text).brief): \(error.reason)")
                return nil
            }
        }
        func checked(_ upstream: UpstreamConfig) -> UpstreamConfig? {
            if upstream.tls && upstream.serverName == nil && IPAddress(upstream.address.host) != nil {
                reader.fail(
                    path, "a TLS upstream given by IP address needs \"server_name\" (the name its certificate is for)")
                return nil
            }
            return upstream
        }
        if case .string(let text) = value {
            guard let (address, tls) = parseAddress(text, at: path) else { return nil }
            return checked(UpstreamConfig(address: address, tls: tls))
        }
        guard
            let fields = reader.object(
                value, at: path, allowed: ["address", "weight", "tls", "server_name", "protocol"]),
            let addressValue = reader.required(fields, "address", at: path),
            let text = reader.string(addressValue, at: ConfigReader.join(path, "address")),
            let (address, schemeTLS) = parseAddress(text, at: ConfigReader.join(path, "address"))
        else { return nil }
        var upstream = UpstreamConfig(address: address, tls: schemeTLS)
        if let value = fields["weight"],
            let weight = reader.integer(value, at: ConfigReader.join(path, "weight"), in: 1...1000)
        {
            upstream.weight = weight
        }
        if let value = fields["tls"], let flag = reader.bool(value, at: ConfigReader.join(path, "tls")) {
            upstream.tls = flag || schemeTLS
        }
        if let value = fields["server_name"],
            let name = reader.nonEmptyString(value, at: ConfigReader.join(path, "server_name"))
        {
            upstream.serverName = name
        }
        if let value = fields["protocol"], let text = reader.string(value, at: ConfigReader.join(path, "protocol")) {
            if let chosen = UpstreamProtocol(rawValue: text) {
                upstream.httpProtocol = chosen
            } else {
                reader.fail(
                    ConfigReader.join(path, "protocol"),
                    "\(JSONValue.string(text).brief) is not a protocol: use \"h2\" or \"http/1.1\"")
            }
        }
        return checked(upstream)
    }
}
