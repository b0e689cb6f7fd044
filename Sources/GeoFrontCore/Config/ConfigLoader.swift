import Foundation
import GeoIP

/// Reads and validates `regions.json`. Every problem is reported with its JSON path and reason;
/// nothing partial is ever returned.
///
/// The loader reads the file, parses the JSON (refusing trailing commas, with their position),
/// checks the top-level keys and reads the top-level scalars. Each section is read by the
/// `read` beside the settings type it produces (``ServerSettings``, ``ProxySettings``,
/// ``HealthCheckSettings``, ``RegionConfig``, ``TLSListenerSettings`` and so on), through one
/// ``ConfigReader`` that collects every problem. The checks that span sections
/// (`default_region` names a region, `proxy_protocol` needs `trusted_proxies`, `tls` only once
/// the rest is valid) are made here.
public enum ConfigLoader {
    /// The top-level keys; each section's own keys are beside its reader (`configKeys`).
    static let topLevelKeys =
        [
            "listen", "geoip", "mode", "redirect", "trusted_proxies", "default_region", "regions", "server",
            "health_check", "when_all_down", "proxy", "admin", "access_log", "rate_limit", "proxy_protocol", "tls",
            "policies", "affinity", "cache",
        ] + RoutesConfig.configKeys

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
        let config = build(document, reader: &reader)
        guard let config, reader.issues.isEmpty else {
            throw ConfigError(file: file, issues: reader.issues)
        }
        return config
    }

    /// Reads the sections in a fixed order (so problems are always listed the same way), makes
    /// the checks between them and builds the configuration; nil when anything was reported.
    private static func build(_ document: JSONValue, reader: inout ConfigReader) -> GeoFrontConfig? {
        guard let root = reader.object(document, at: "", allowed: topLevelKeys) else { return nil }

        var listen: HostPort?
        if let value = reader.required(root, "listen", at: "") {
            listen = reader.listenAddress(value, at: "listen")
        }
        var geoip: GeoIPSettings?
        if let value = reader.required(root, "geoip", at: "") {
            geoip = GeoIPSettings.read(value, reader: &reader)
        }
        var mode = RoutingMode.redirect
        if let value = root["mode"], let parsed = RoutingMode.read(value, at: "mode", reader: &reader) {
            mode = parsed
        }
        let redirect = RedirectSettings.read(root["redirect"], reader: &reader)
        var trusted: [IPNetwork] = []
        if let value = root["trusted_proxies"], let networks = reader.networks(value, at: "trusted_proxies") {
            trusted = networks
        }
        let server = ServerSettings.read(root["server"], reader: &reader)
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
        var regions: [RegionConfig] = []
        var names: [String] = []
        // With routes, requests are served by services: a region may be a bare location.
        let routed = root["routes"].map { $0 != .null } ?? false
        if let value = reader.required(root, "regions", at: "") {
            let inherited = RegionConfig.Inherited(
                mode: mode, loadBalancing: proxy.loadBalancing, healthCheck: globalHealthCheck, servesRequests: !routed)
            (regions, names) = RegionConfig.readAll(value, inherited: inherited, reader: &reader)
        }
        var policies: [TrafficPolicy] = []
        if let value = root["policies"], value != .null, !names.isEmpty {
            policies = TrafficPolicy.readAll(value, regionNames: names, reader: &reader)
        }
        var routes: RoutesConfig?
        if RoutesConfig.configKeys.contains(where: { root[$0].map { $0 != .null } ?? false }) {
            let inherited = RoutesConfig.Inherited(
                mode: mode, loadBalancing: proxy.loadBalancing, healthCheck: globalHealthCheck)
            routes = RoutesConfig.read(root, regionNames: names, inherited: inherited, reader: &reader)
            if let routes { routes.checkRedirectURLs(regions: regions, reader: &reader) }
        }

        var defaultRegion = regions.first?.name
        if let value = root["default_region"], let name = reader.string(value, at: "default_region"), !names.isEmpty {
            if names.contains(name) {
                defaultRegion = name
            } else {
                let known = names.joined(separator: ", ")
                reader.fail("default_region", "\(value.brief) is not a region; regions are: \(known)")
            }
        }

        let admin = AdminSettings.read(root["admin"], publicListen: listen, reader: &reader)
        let accessLog = AccessLogSettings.read(root["access_log"], reader: &reader)
        let rateLimit = RateLimitSettings.read(root["rate_limit"], reader: &reader)
        let affinity = root["affinity"].flatMap { $0 == .null ? nil : AffinitySettings.read($0, reader: &reader) }
        let issuesBeforeCache = reader.issues.count
        let cache = CacheSettings.read(root["cache"], reader: &reader)
        if let routes, reader.issues.count == issuesBeforeCache {
            CacheSettings.checkOverrides(routes, top: cache, reader: &reader)
        }
        guard let listen, let geoip, let defaultRegion, reader.issues.isEmpty else { return nil }
        var config = GeoFrontConfig(
            listen: listen, geoip: geoip, mode: mode, redirect: redirect, trustedProxies: trusted,
            defaultRegion: defaultRegion, regions: regions, server: server, whenAllDown: whenAllDown, proxy: proxy)
        config.admin = admin
        config.accessLog = accessLog
        config.rateLimit = rateLimit
        config.routes = routes
        config.policies = policies
        config.affinity = affinity
        config.cache = cache
        if let value = root["tls"], value != .null {
            config.tls = TLSListenerSettings.read(value, plainListen: listen, reader: &reader)
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
