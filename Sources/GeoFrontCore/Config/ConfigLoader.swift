import Foundation
import GeoIP

/// Reads and validates `regions.json`. Every problem is reported with its JSON path and reason;
/// nothing partial is ever returned.
public enum ConfigLoader {
    /// The top-level keys; later sections (health checks, proxy settings, routes) are added here.
    static let topLevelKeys = [
        "listen", "geoip", "mode", "redirect", "trusted_proxies", "default_region", "regions", "server",
    ]
    static let regionKeys = ["name", "location", "redirect_url", "upstreams"]

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
        var reader = ConfigReader()
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
        let (regions, names) = readRegions(root, mode: mode, reader: &reader)

        var defaultRegion = regions.first?.name
        if let value = root["default_region"], let name = reader.string(value, at: "default_region"), !names.isEmpty {
            if names.contains(name) {
                defaultRegion = name
            } else {
                let known = names.joined(separator: ", ")
                reader.fail("default_region", "\(value.brief) is not a region; regions are: \(known)")
            }
        }

        guard let listen, let geoip, let defaultRegion, reader.issues.isEmpty else { return nil }
        return GeoFrontConfig(
            listen: listen, geoip: geoip, mode: mode, redirect: redirect, trustedProxies: trusted,
            defaultRegion: defaultRegion, regions: regions, server: server)
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
                allowed: ["idle_timeout_ms", "request_timeout_ms", "max_request_head_bytes", "threads"])
        else { return server }
        if let value = fields["idle_timeout_ms"],
            let number = reader.integer(value, at: "server.idle_timeout_ms", in: 1...86_400_000)
        {
            server.idleTimeoutMilliseconds = number
        }
        if let value = fields["request_timeout_ms"],
            let number = reader.integer(value, at: "server.request_timeout_ms", in: 1...3_600_000)
        {
            server.requestTimeoutMilliseconds = number
        }
        if let value = fields["max_request_head_bytes"],
            let number = reader.integer(value, at: "server.max_request_head_bytes", in: 1024...1_048_576)
        {
            server.maxRequestHeadBytes = number
        }
        if let value = fields["threads"], let number = reader.integer(value, at: "server.threads", in: 0...256) {
            server.threads = number
        }
        return server
    }

    /// The valid regions, and the names of all regions that have a valid name (so that
    /// `default_region` is checked against what the file declares, even when a region is broken).
    private static func readRegions(_ root: [String: JSONValue], mode: RoutingMode, reader: inout ConfigReader)
        -> ([RegionConfig], [String])
    {
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
            var redirectURL: RedirectURL?
            if let value = fields["redirect_url"], value != .null {
                let urlPath = ConfigReader.join(path, "redirect_url")
                if let text = reader.string(value, at: urlPath) {
                    switch RedirectURL.parse(text) {
                    case .success(let url): redirectURL = url
                    case .failure(let error): reader.fail(urlPath, "\(value.brief) \(error.reason)")
                    }
                }
            } else if mode == .redirect {
                reader.fail(ConfigReader.join(path, "redirect_url"), "is required in redirect mode")
            }
            var upstreams: [HostPort] = []
            if let value = fields["upstreams"], let list = reader.array(value, at: ConfigReader.join(path, "upstreams"))
            {
                for (upstreamIndex, entry) in list.enumerated() {
                    let entryPath = ConfigReader.join(ConfigReader.join(path, "upstreams"), upstreamIndex)
                    guard let text = reader.string(entry, at: entryPath) else { continue }
                    switch HostPort.parse(text, allowZeroPort: false) {
                    case .success(let address): upstreams.append(address)
                    case .failure(let error): reader.fail(entryPath, "\(entry.brief): \(error.reason)")
                    }
                }
            }
            if let name, let location {
                regions.append(
                    RegionConfig(name: name, location: location, redirectURL: redirectURL, upstreams: upstreams))
            }
        }
        return (regions, names)
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
