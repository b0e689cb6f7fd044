import GeoIP

/// One region of `regions`.
public struct RegionConfig: Sendable, Hashable {
    /// Unique name, `[a-z0-9._-]`, shown in `X-GeoFront-Region`.
    public var name: String
    /// The data centre's position.
    public var location: Coordinate
    /// Where redirect mode sends clients; required in redirect mode.
    public var redirectURL: RedirectURL?
    /// How this region answers (`mode`, else the global `mode`).
    public var mode: RoutingMode
    /// The origins of this region (proxy mode forwards to them; health checks probe them).
    public var upstreams: [UpstreamConfig]
    /// How an upstream is picked (`lb`, else `proxy.lb`).
    public var loadBalancing: LoadBalancing
    /// The effective health check (global `health_check` with this region's overrides); nil when
    /// the region is not checked.
    public var healthCheck: HealthCheckSettings?
    /// Where the checks go: `targets`, else `url`, else `upstreams`.
    public var healthTargets: [HealthTarget]
    /// Healthy targets needed for the region to be available (`min_healthy`).
    public var minHealthy: Int
    /// Out of rotation whatever its health (`drain`).
    public var drain: Bool
    /// `bias`, −99…99: steering uses the distance × (1 − bias/100), so a positive bias grows the
    /// region's area and a negative one shrinks it.
    public var bias = 0
    /// `capacity`: how much this instance sends the region before new requests spill over.
    public var capacity: RegionCapacity?
    /// The service this entry serves in the region (a ``GeoFrontConfig/deployments`` entry made
    /// from `services`); nil for the region itself (its own `upstreams`: the implicit default
    /// service).
    public var service: String?

    public init(
        name: String, location: Coordinate, redirectURL: RedirectURL?, mode: RoutingMode = .redirect,
        upstreams: [UpstreamConfig] = [], loadBalancing: LoadBalancing = .roundRobin,
        healthCheck: HealthCheckSettings? = nil, healthTargets: [HealthTarget] = [], minHealthy: Int = 1,
        drain: Bool = false
    ) {
        self.name = name
        self.location = location
        self.redirectURL = redirectURL
        self.mode = mode
        self.upstreams = upstreams
        self.loadBalancing = loadBalancing
        self.healthCheck = healthCheck
        self.healthTargets = healthTargets
        self.minHealthy = minHealthy
        self.drain = drain
    }

    /// Whether active checks run for this region.
    public var isChecked: Bool { healthCheck != nil && !healthTargets.isEmpty }

    /// The region's name, or `service/region` for a service's deployment: unique among
    /// ``GeoFrontConfig/deployments`` (health state and logs go by it).
    public var id: String { service.map { "\($0)/\(name)" } ?? name }
}

extension RegionConfig {
    /// The keys of a `regions` entry.
    static let configKeys = [
        "name", "location", "redirect_url", "upstreams", "health_check", "targets", "url", "min_healthy", "drain",
        "mode", "lb", "bias", "capacity",
    ]

    /// What a region takes from the rest of the file when it does not say: the global `mode`,
    /// `proxy.lb` and `health_check`.
    struct Inherited {
        var mode: RoutingMode
        var loadBalancing: LoadBalancing
        var healthCheck: HealthCheckSettings?
        /// Whether the region's own `redirect_url` / `upstreams` serve requests (false when the
        /// file has `routes`: services do, and a region needs neither).
        var servesRequests = true
    }

    /// Reads the `regions` array: the valid regions, and the names of all regions that have a
    /// valid name (so that `default_region` is checked against what the file declares, even when
    /// a region is broken).
    static func readAll(_ value: JSONValue, inherited: Inherited, reader: inout ConfigReader)
        -> (regions: [RegionConfig], names: [String])
    {
        guard let items = reader.array(value, at: "regions") else { return ([], []) }
        var names: [String] = []
        if items.isEmpty { reader.fail("regions", "needs at least one region") }
        var regions: [RegionConfig] = []
        var firstIndexByName: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = ConfigReader.join("regions", index)
            guard let fields = reader.object(item, at: path, allowed: configKeys) else { continue }
            let name = reader.uniqueName(
                fields, at: path, index: index, list: "regions", firstIndexByName: &firstIndexByName)
            if let name { names.append(name) }
            if let region = read(fields, at: path, name: name, inherited: inherited, reader: &reader) {
                regions.append(region)
            }
        }
        return (regions, names)
    }

    /// A region name: `[a-z0-9._-]`, at most 63 characters.
    static func isValidName(_ text: String) -> Bool {
        text.utf8.count <= 63
            && text.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }
    }

    /// The rest of one region, once ``readAll(_:inherited:reader:)`` (which knows the other names)
    /// has checked its `name`: nil when the name or the location is wrong, after every other key
    /// has been read and reported.
    private static func read(
        _ fields: [String: JSONValue], at path: String, name: String?, inherited: Inherited,
        reader: inout ConfigReader
    ) -> RegionConfig? {
        let location = readLocation(fields, at: path, reader: &reader)
        var mode = inherited.mode
        if let value = fields["mode"],
            let parsed = RoutingMode.read(value, at: ConfigReader.join(path, "mode"), reader: &reader)
        {
            mode = parsed
        }
        var loadBalancing = inherited.loadBalancing
        if let value = fields["lb"],
            let policy = LoadBalancing.read(value, at: ConfigReader.join(path, "lb"), reader: &reader)
        {
            loadBalancing = policy
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
        } else if mode == .redirect && inherited.servesRequests {
            reader.fail(ConfigReader.join(path, "redirect_url"), "is required in redirect mode")
        }
        var upstreams: [UpstreamConfig] = []
        let issuesBeforeUpstreams = reader.issues.count
        if let value = fields["upstreams"], let list = reader.array(value, at: ConfigReader.join(path, "upstreams")) {
            for (upstreamIndex, entry) in list.enumerated() {
                let entryPath = ConfigReader.join(ConfigReader.join(path, "upstreams"), upstreamIndex)
                if let upstream = UpstreamConfig.read(entry, at: entryPath, reader: &reader) {
                    upstreams.append(upstream)
                }
            }
        }
        if upstreams.count > 64 {
            reader.fail(ConfigReader.join(path, "upstreams"), "has \(upstreams.count) upstreams; at most 64 per region")
        }
        if mode == .proxy && upstreams.isEmpty && reader.issues.count == issuesBeforeUpstreams
            && inherited.servesRequests
        {
            reader.fail(ConfigReader.join(path, "upstreams"), "needs at least one upstream in proxy mode")
        }
        let health = readHealth(
            fields, at: path, inherited: inherited.healthCheck, upstreams: upstreams, reader: &reader)
        var bias = 0
        if let value = fields["bias"],
            let number = reader.integer(value, at: ConfigReader.join(path, "bias"), in: -99...99)
        {
            bias = number
        }
        guard let name, let location else { return nil }
        var region = RegionConfig(
            name: name, location: location, redirectURL: redirectURL, mode: mode, upstreams: upstreams,
            loadBalancing: loadBalancing, healthCheck: health.settings, healthTargets: health.targets,
            minHealthy: health.minHealthy, drain: health.drain)
        region.bias = bias
        if let value = fields["capacity"], value != .null {
            region.capacity = RegionCapacity.read(value, at: ConfigReader.join(path, "capacity"), reader: &reader)
        }
        return region
    }

    /// A region's `health_check` override (or `false`), `targets` / `url`, `min_healthy`, `drain`.
    private static func readHealth(
        _ fields: [String: JSONValue], at path: String, inherited: HealthCheckSettings?, upstreams: [UpstreamConfig],
        reader: inout ConfigReader
    ) -> (settings: HealthCheckSettings?, targets: [HealthTarget], minHealthy: Int, drain: Bool) {
        var settings = inherited
        if let value = fields["health_check"] {
            let checkPath = ConfigReader.join(path, "health_check")
            if value == .bool(false) || value == .null {
                settings = nil
            } else {
                settings = HealthCheckSettings.read(
                    value, at: checkPath, base: inherited ?? HealthCheckSettings(), reader: &reader)
            }
        }
        var targets = upstreams.map { HealthTarget(upstream: $0) }
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

    /// A region's `location`: latitude and longitude in degrees, both required.
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
}
