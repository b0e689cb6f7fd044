import Foundation
import GeoIP

/// Reads and validates `regions.json`. Every problem is reported with its JSON path and reason;
/// nothing partial is ever returned.
public enum ConfigLoader {
    /// The top-level keys; later sections (health checks, proxy settings, routes) are added here.
    static let topLevelKeys = [
        "listen", "geoip", "mode", "redirect", "trusted_proxies", "default_region", "regions", "server",
        "health_check", "when_all_down", "proxy", "admin", "access_log", "rate_limit", "proxy_protocol", "tls",
    ]
    static let regionKeys = [
        "name", "location", "redirect_url", "upstreams", "health_check", "targets", "url", "min_healthy", "drain",
        "mode", "lb",
    ]
    /// Loads the file at `path`; relative paths inside resolve against the file's folder.
    public static func load(path: String) throws(ConfigError) -> GeoFrontConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"
            throw ConfigError(file: path, issues: [ConfigIssue(path: "", message: reason)])
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(data, baseDirectory: folder, file: path)
    }

    /// Parses a configuration document. `baseDirectory` anchors relative paths.
    public static func parse(_ data: Data, baseDirectory: String, file: String? = nil) throws(ConfigError)
        -> GeoFrontConfig
    {
        let document: JSONValue
        do {
            if let position = trailingComma(in: data) {
                throw ConfigError(
                    file: file,
                    issues: [
                        ConfigIssue(
                            path: "",
                            message:
                                "malformed JSON: trailing comma at line \(position.line), column \(position.column)")
                    ])
            }
            document = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(
                file: file, issues: [ConfigIssue(path: "", message: "malformed JSON: \(jsonReason(error))")])
        }
        var reader = ConfigReader(baseDirectory: baseDirectory)
        let config = build(document, baseDirectory: baseDirectory, reader: &reader)
        guard let config, reader.issues.isEmpty else {
            throw ConfigError(file: file, issues: reader.issues)
        }
        return config
    }

    private static func build(_ document: JSONValue, baseDirectory: String, reader: inout ConfigReader)
        -> GeoFrontConfig?
    {
        guard let root = reader.object(document, at: "", allowed: topLevelKeys) else { return nil }

        var listen: HostPort?
        if let value = reader.required(root, "listen", at: ""), let text = reader.nonEmptyString(value, at: "listen") {
            switch HostPort.parse(text, allowZeroPort: true) {
            case .success(let address): listen = address
            case .failure(let error): reader.fail("listen", "\(JSONValue.string(text).brief): \(error.reason)")
            }
        }

        let geoip = readGeoIP(root, baseDirectory: baseDirectory, reader: &reader)

        var mode = RoutingMode.redirect
        if let value = root["mode"], let text = reader.string(value, at: "mode") {
            if let parsed = RoutingMode(rawValue: text) {
                mode = parsed
            } else {
                let allowed = RoutingMode.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                reader.fail("mode", "\(JSONValue.string(text).brief) is not a mode; allowed: \(allowed)")
            }
        }

        var redirect = RedirectSettings()
        if let value = root["redirect"], let fields = reader.object(value, at: "redirect", allowed: ["status"]) {
            if let status = fields["status"], let code = reader.integer(status, at: "redirect.status", in: 100...599) {
                if RedirectSettings.allowedStatuses.contains(code) {
                    redirect.status = code
                } else {
                    reader.fail("redirect.status", "\(code) is not a redirect status; allowed: 301, 302, 303, 307, 308")
                }
            }
        }

        var trusted: [IPNetwork] = []
        if let value = root["trusted_proxies"], let items = reader.array(value, at: "trusted_proxies") {
            for (index, item) in items.enumerated() {
                let path = ConfigReader.join("trusted_proxies", index)
                guard let text = reader.string(item, at: path) else { continue }
                if let network = IPNetwork(text) {
                    trusted.append(network)
                } else {
                    reader.fail(path, "\(item.brief) is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32")
                }
            }
        }

        let server = readServer(root, reader: &reader)
        var globalHealthCheck: HealthCheckSettings?
        if let value = root["health_check"], value != .null {
            globalHealthCheck = HealthCheckSettings.read(
                value, at: "health_check", base: HealthCheckSettings(), reader: &reader)
        }
        var whenAllDown = AllDownPolicy.nearest
        if let value = root["when_all_down"], let text = reader.string(value, at: "when_all_down") {
            if let policy = AllDownPolicy(rawValue: text) {
                whenAllDown = policy
            } else {
                reader.fail("when_all_down", "\(value.brief) is not a policy; allowed: \"nearest\", \"unavailable\"")
            }
        }
        let proxy = ProxySettings.read(root["proxy"], reader: &reader)
        let (regions, names) = readRegions(
            root, mode: mode, loadBalancing: proxy.loadBalancing, healthCheck: globalHealthCheck, reader: &reader)

        var defaultRegion = regions.first?.name
        if let value = root["default_region"], let name = reader.string(value, at: "default_region"), !names.isEmpty {
            if names.contains(name) {
                defaultRegion = name
            } else {
                let known = names.joined(separator: ", ")
                reader.fail("default_region", "\(value.brief) is not a region; regions are: \(known)")
            }
        }

        let admin = readAdmin(root, listen: listen, reader: &reader)
        let accessLog = readAccessLog(root, baseDirectory: baseDirectory, reader: &reader)
        let rateLimit = RateLimitSettings.read(root["rate_limit"], reader: &reader)
        guard let listen, let geoip, let defaultRegion, reader.issues.isEmpty else { return nil }
        var config = GeoFrontConfig(
            listen: listen, geoip: geoip, mode: mode, redirect: redirect, trustedProxies: trusted,
            defaultRegion: defaultRegion, regions: regions, server: server, whenAllDown: whenAllDown, proxy: proxy)
        config.admin = admin
        config.accessLog = accessLog
        config.rateLimit = rateLimit
        if let value = root["tls"], value != .null {
            config.tls = readTLS(value, listen: listen, baseDirectory: baseDirectory, reader: &reader)
            if config.tls == nil { return nil }
        }
        if let value = root["proxy_protocol"], let flag = reader.bool(value, at: "proxy_protocol") {
            if flag && trusted.isEmpty {
                reader.fail("proxy_protocol", "needs trusted_proxies: the header is accepted only from them")
                return nil
            }
            config.proxyProtocol = flag
        }
        return config
    }

    private static func readTLS(
        _ value: JSONValue, listen: HostPort?, baseDirectory: String, reader: inout ConfigReader
    ) -> TLSListenerSettings? {
        guard let fields = reader.object(value, at: "tls", allowed: ["listen", "certificates", "redirect_http"]),
            let listenValue = reader.required(fields, "listen", at: "tls"),
            let listenText = reader.nonEmptyString(listenValue, at: "tls.listen")
        else { return nil }
        let address: HostPort
        switch HostPort.parse(listenText, allowZeroPort: true) {
        case .success(let parsed): address = parsed
        case .failure(let error):
            reader.fail("tls.listen", "\(listenValue.brief): \(error.reason)")
            return nil
        }
        if let listen, listen == address, address.port != 0 {
            reader.fail("tls.listen", "\(listenValue.brief) is the plain listener's address")
            return nil
        }
        guard let list = reader.required(fields, "certificates", at: "tls"),
            let items = reader.array(list, at: "tls.certificates")
        else { return nil }
        if items.isEmpty { reader.fail("tls.certificates", "needs at least one certificate") }
        var certificates: [TLSListenerSettings.Certificate] = []
        for (index, item) in items.enumerated() {
            let path = ConfigReader.join("tls.certificates", index)
            guard let entry = reader.object(item, at: path, allowed: ["certificate", "private_key"]),
                let certificate = reader.required(entry, "certificate", at: path).flatMap({
                    reader.nonEmptyString($0, at: ConfigReader.join(path, "certificate"))
                }),
                let key = reader.required(entry, "private_key", at: path).flatMap({
                    reader.nonEmptyString($0, at: ConfigReader.join(path, "private_key"))
                })
            else { continue }
            certificates.append(
                TLSListenerSettings.Certificate(
                    certificate: resolve(certificate, against: baseDirectory),
                    privateKey: resolve(key, against: baseDirectory)))
        }
        var settings = TLSListenerSettings(listen: address, certificates: certificates)
        if let value = fields["redirect_http"], let flag = reader.bool(value, at: "tls.redirect_http") {
            settings.redirectHTTP = flag
        }
        return certificates.isEmpty ? nil : settings
    }

    private static func readAdmin(_ root: [String: JSONValue], listen: HostPort?, reader: inout ConfigReader)
        -> AdminSettings
    {
        var admin = AdminSettings()
        guard let value = root["admin"] else { return admin }
        if value == .null || value == .bool(false) {
            admin.listen = nil
            return admin
        }
        guard let fields = reader.object(value, at: "admin", allowed: ["listen", "token", "token_env"]) else {
            return admin
        }
        if let value = fields["listen"] {
            if value == .null {
                admin.listen = nil
            } else if let text = reader.nonEmptyString(value, at: "admin.listen") {
                switch HostPort.parse(text, allowZeroPort: true) {
                case .success(let address):
                    if let listen, address == listen, address.port != 0 {
                        reader.fail(
                            "admin.listen", "\(value.brief) is the public listener; the admin API needs its own address"
                        )
                    } else {
                        admin.listen = address
                    }
                case .failure(let error): reader.fail("admin.listen", "\(value.brief): \(error.reason)")
                }
            }
        }
        if let value = fields["token"], value != .null, let token = reader.nonEmptyString(value, at: "admin.token") {
            admin.token = token
        }
        if let value = fields["token_env"], let name = reader.nonEmptyString(value, at: "admin.token_env") {
            admin.tokenEnvironmentVariable = name
        }
        return admin
    }

    private static func readAccessLog(_ root: [String: JSONValue], baseDirectory: String, reader: inout ConfigReader)
        -> AccessLogSettings?
    {
        guard let value = root["access_log"], value != .null, value != .bool(false) else { return nil }
        if value == .bool(true) { return AccessLogSettings() }
        guard let fields = reader.object(value, at: "access_log", allowed: ["path", "format"]) else { return nil }
        var settings = AccessLogSettings()
        if let value = fields["path"], value != .null, let path = reader.nonEmptyString(value, at: "access_log.path") {
            settings.path = resolve(path, against: baseDirectory)
        }
        if let value = fields["format"], let text = reader.string(value, at: "access_log.format") {
            if let format = AccessLogSettings.Format(rawValue: text) {
                settings.format = format
            } else {
                reader.fail("access_log.format", "\(value.brief) is not a format; allowed: \"json\", \"text\"")
            }
        }
        return settings
    }

    private static func readGeoIP(_ root: [String: JSONValue], baseDirectory: String, reader: inout ConfigReader)
        -> GeoIPSettings?
    {
        guard let value = reader.required(root, "geoip", at: ""),
            let fields = reader.object(value, at: "geoip", allowed: ["database", "country_centroids"])
        else { return nil }
        var database: String?
        if let value = reader.required(fields, "database", at: "geoip"),
            let path = reader.nonEmptyString(value, at: "geoip.database")
        {
            database = resolve(path, against: baseDirectory)
        }
        var centroids: String?
        if let value = fields["country_centroids"], value != .null,
            let path = reader.nonEmptyString(value, at: "geoip.country_centroids")
        {
            centroids = resolve(path, against: baseDirectory)
        }
        guard let database else { return nil }
        return GeoIPSettings(database: database, countryCentroids: centroids)
    }

    private static func readServer(_ root: [String: JSONValue], reader: inout ConfigReader) -> ServerSettings {
        var server = ServerSettings()
        guard let value = root["server"],
            let fields = reader.object(
                value, at: "server",
                allowed: [
                    "idle_timeout_ms", "request_timeout_ms", "max_request_head_bytes", "threads", "shutdown_grace_ms",
                    "fast_path", "max_connections", "max_connections_per_ip", "max_requests_per_connection",
                    "send_timeout_ms",
                ])
        else { return server }
        reader.integer(
            fields, "idle_timeout_ms", at: "server", in: 1...86_400_000, into: &server.idleTimeoutMilliseconds)
        reader.integer(
            fields, "request_timeout_ms", at: "server", in: 1...3_600_000, into: &server.requestTimeoutMilliseconds)
        reader.integer(
            fields, "max_request_head_bytes", at: "server", in: 1024...1_048_576, into: &server.maxRequestHeadBytes)
        reader.integer(fields, "threads", at: "server", in: 0...256, into: &server.threads)
        if let value = fields["fast_path"], let flag = reader.bool(value, at: "server.fast_path") {
            server.fastPath = flag
        }
        reader.integer(fields, "max_connections", at: "server", in: 0...10_000_000, into: &server.maxConnections)
        reader.integer(
            fields, "max_connections_per_ip", at: "server", in: 0...10_000_000, into: &server.maxConnectionsPerIP)
        reader.integer(
            fields, "max_requests_per_connection", at: "server", in: 0...100_000_000,
            into: &server.maxRequestsPerConnection)
        reader.integer(
            fields, "shutdown_grace_ms", at: "server", in: 0...3_600_000, into: &server.shutdownGraceMilliseconds)
        reader.integer(
            fields, "send_timeout_ms", at: "server", in: 1...3_600_000, into: &server.sendTimeoutMilliseconds)
        return server
    }

    /// The valid regions, and the names of all regions that have a valid name (so that
    /// `default_region` is checked against what the file declares, even when a region is broken).
    private static func readRegions(
        _ root: [String: JSONValue], mode globalMode: RoutingMode, loadBalancing: LoadBalancing,
        healthCheck: HealthCheckSettings?, reader: inout ConfigReader
    ) -> ([RegionConfig], [String]) {
        guard let value = reader.required(root, "regions", at: ""), let items = reader.array(value, at: "regions")
        else { return ([], []) }
        var names: [String] = []
        if items.isEmpty { reader.fail("regions", "needs at least one region") }
        var regions: [RegionConfig] = []
        var firstIndexByName: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = ConfigReader.join("regions", index)
            guard let fields = reader.object(item, at: path, allowed: regionKeys) else { continue }
            var name: String?
            if let value = reader.required(fields, "name", at: path),
                let text = reader.nonEmptyString(value, at: ConfigReader.join(path, "name"))
            {
                if !isRegionName(text) {
                    reader.fail(
                        ConfigReader.join(path, "name"),
                        "\(value.brief) may only use a-z, 0-9, \".\", \"_\" and \"-\" (at most 63 characters)")
                } else if let first = firstIndexByName[text] {
                    reader.fail(
                        ConfigReader.join(path, "name"), "\(value.brief) is already the name of regions[\(first)]")
                } else {
                    firstIndexByName[text] = index
                    names.append(text)
                    name = text
                }
            }
            let location = readLocation(fields, at: path, reader: &reader)
            var mode = globalMode
            if let value = fields["mode"], let text = reader.string(value, at: ConfigReader.join(path, "mode")) {
                if let parsed = RoutingMode(rawValue: text) {
                    mode = parsed
                } else {
                    reader.fail(
                        ConfigReader.join(path, "mode"),
                        "\(value.brief) is not a mode; allowed: \"redirect\", \"proxy\"")
                }
            }
            var regionLoadBalancing = loadBalancing
            if let value = fields["lb"],
                let policy = LoadBalancing.read(value, at: ConfigReader.join(path, "lb"), reader: &reader)
            {
                regionLoadBalancing = policy
            }
            var redirectURL: RedirectURL?
            if let value = fields["redirect_url"], value != .null {
                let urlPath = ConfigReader.join(path, "redirect_url")
                if let text = reader.string(value, at: urlPath) {
                    switch RedirectURL.parse(text) {
                    case .success(let url): redirectURL = url
                    case .failure(let error): reader.fail(urlPath, "\(value.brief): \(error.reason)")
                    }
                }
            } else if mode == .redirect {
                reader.fail(ConfigReader.join(path, "redirect_url"), "is required in redirect mode")
            }
            var upstreams: [UpstreamConfig] = []
            let issuesBeforeUpstreams = reader.issues.count
            if let value = fields["upstreams"], let list = reader.array(value, at: ConfigReader.join(path, "upstreams"))
            {
                for (upstreamIndex, entry) in list.enumerated() {
                    let entryPath = ConfigReader.join(ConfigReader.join(path, "upstreams"), upstreamIndex)
                    if let upstream = UpstreamConfig.read(entry, at: entryPath, reader: &reader) {
                        upstreams.append(upstream)
                    }
                }
            }
            if upstreams.count > 64 {
                reader.fail(
                    ConfigReader.join(path, "upstreams"), "has \(upstreams.count) upstreams; at most 64 per region")
            }
            if mode == .proxy && upstreams.isEmpty && reader.issues.count == issuesBeforeUpstreams {
                reader.fail(ConfigReader.join(path, "upstreams"), "needs at least one upstream in proxy mode")
            }
            let health = readRegionHealth(
                fields, at: path, global: healthCheck, upstreams: upstreams, reader: &reader)
            if let name, let location {
                regions.append(
                    RegionConfig(
                        name: name, location: location, redirectURL: redirectURL, mode: mode, upstreams: upstreams,
                        loadBalancing: regionLoadBalancing,
                        healthCheck: health.settings, healthTargets: health.targets, minHealthy: health.minHealthy,
                        drain: health.drain))
            }
        }
        return (regions, names)
    }

    /// A region's `health_check` override (or `false`), `targets` / `url`, `min_healthy`, `drain`.
    private static func readRegionHealth(
        _ fields: [String: JSONValue], at path: String, global: HealthCheckSettings?, upstreams: [UpstreamConfig],
        reader: inout ConfigReader
    ) -> (settings: HealthCheckSettings?, targets: [HealthTarget], minHealthy: Int, drain: Bool) {
        var settings = global
        if let value = fields["health_check"] {
            let checkPath = ConfigReader.join(path, "health_check")
            if value == .bool(false) || value == .null {
                settings = nil
            } else {
                settings = HealthCheckSettings.read(
                    value, at: checkPath, base: global ?? HealthCheckSettings(), reader: &reader)
            }
        }
        var targets = upstreams.map { HealthTarget(address: $0.address) }
        if fields["targets"] != nil && fields["url"] != nil {
            reader.fail(ConfigReader.join(path, "url"), "give either targets or url, not both")
        }
        if let value = fields["targets"], let list = reader.array(value, at: ConfigReader.join(path, "targets")) {
            targets = []
            for (index, entry) in list.enumerated() {
                let entryPath = ConfigReader.join(ConfigReader.join(path, "targets"), index)
                guard let text = reader.string(entry, at: entryPath) else { continue }
                switch HostPort.parse(text, allowZeroPort: false) {
                case .success(let address): targets.append(HealthTarget(address: address))
                case .failure(let error): reader.fail(entryPath, "\(entry.brief): \(error.reason)")
                }
            }
        }
        if let value = fields["url"], let text = reader.string(value, at: ConfigReader.join(path, "url")) {
            switch HealthURL.parse(text) {
            case .success(let target): targets = [target]
            case .failure(let error): reader.fail(ConfigReader.join(path, "url"), "\(value.brief): \(error.reason)")
            }
        }
        var minHealthy = 1
        if let value = fields["min_healthy"],
            let number = reader.integer(value, at: ConfigReader.join(path, "min_healthy"), in: 1...10_000)
        {
            minHealthy = number
            if settings != nil && number > targets.count {
                reader.fail(
                    ConfigReader.join(path, "min_healthy"),
                    "\(number) is more than the region's \(targets.count) health check target(s)")
            }
        }
        var drain = false
        if let value = fields["drain"], let flag = reader.bool(value, at: ConfigReader.join(path, "drain")) {
            drain = flag
        }
        return (settings, targets, minHealthy, drain)
    }

    private static func readLocation(_ fields: [String: JSONValue], at path: String, reader: inout ConfigReader)
        -> Coordinate?
    {
        let locationPath = ConfigReader.join(path, "location")
        guard let value = reader.required(fields, "location", at: path),
            let location = reader.object(value, at: locationPath, allowed: ["latitude", "longitude"])
        else { return nil }
        var latitude: Double?
        var longitude: Double?
        for (key, limit) in [("latitude", 90.0), ("longitude", 180.0)] {
            let keyPath = ConfigReader.join(locationPath, key)
            guard let value = reader.required(location, key, at: locationPath),
                let number = reader.number(value, at: keyPath)
            else { continue }
            guard number >= -limit && number <= limit else {
                reader.fail(keyPath, "\(value.brief) is outside -\(Int(limit))…\(Int(limit))")
                continue
            }
            if key == "latitude" { latitude = number } else { longitude = number }
        }
        guard let latitude, let longitude else { return nil }
        return Coordinate(latitude: latitude, longitude: longitude)
    }

    static func isRegionName(_ text: String) -> Bool {
        text.utf8.count <= 63
            && text.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }
    }

    static func resolve(_ path: String, against base: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardized.path
    }

    /// Foundation's decoder tolerates a comma before `}` or `]`; JSON does not, and neither do
    /// other tools that read this file (jq, editors), so it is refused here with its position.
    static func trailingComma(in data: Data) -> (line: Int, column: Int)? {
        var inString = false
        var escaped = false
        var pendingComma: (line: Int, column: Int)?
        var line = 1
        var column = 0
        for byte in data {
            column += 1
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1
                column = 0
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                break
            case UInt8(ascii: ","):
                pendingComma = (line, column)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if let pendingComma { return pendingComma }
            default:
                if byte == UInt8(ascii: "\"") { inString = true }
                pendingComma = nil
            }
        }
        return nil
    }

    /// The decoder's complaint, without Swift type names.
    static func jsonReason(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError {
                let text = "\(underlying)"
                if let range = text.range(of: "NSDebugDescription=") {
                    return String(text[range.upperBound...].prefix { $0 != "," && $0 != "}" })
                }
                return text
            }
            return context.debugDescription
        }
        return "\(error)"
    }
}
