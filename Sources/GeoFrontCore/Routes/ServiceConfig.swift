/// One entry of `services`: a set of origins deployed in some of the regions, which routes send
/// requests to. Not yet served (see docs/design.md, "Routes").
public struct ServiceConfig: Sendable, Hashable {
    /// The key in `services`: `[a-z0-9._-]`, at most 63 characters.
    public var name: String
    /// The origins per region name (`upstreams`), in the same entry forms as a region's.
    public var upstreams: [String: [UpstreamConfig]]
    /// The effective health check (the global `health_check` with this service's overrides); nil
    /// when the service is not checked.
    public var healthCheck: HealthCheckSettings?
    /// How an upstream is picked (`lb`, else `proxy.lb`).
    public var loadBalancing: LoadBalancing
    /// Where redirect mode sends clients, per region name (`redirect_urls`); a region without one
    /// uses its own `redirect_url`.
    public var redirectURLs: [String: RedirectURL]
    /// How this service answers (`mode`, else the global `mode`).
    public var mode: RoutingMode
    /// The regions this service runs in (named in `upstreams` or `redirect_urls`), in the order of
    /// `regions` in the file.
    public var regions: [String]
    /// `cache`: this service's requests turn the cache off or override its keys; nil: the top-level
    /// `cache` applies. A route's `cache` takes precedence (``CacheSettings/resolve(top:service:route:)``).
    public var cache: CacheOverride?

    public init(
        name: String, upstreams: [String: [UpstreamConfig]] = [:], healthCheck: HealthCheckSettings? = nil,
        loadBalancing: LoadBalancing = .roundRobin, redirectURLs: [String: RedirectURL] = [:],
        mode: RoutingMode = .redirect, regions: [String] = []
    ) {
        self.name = name
        self.upstreams = upstreams
        self.healthCheck = healthCheck
        self.loadBalancing = loadBalancing
        self.redirectURLs = redirectURLs
        self.mode = mode
        self.regions = regions
    }
}

extension ServiceConfig {
    /// This service in `region` (one of its ``regions``), as the request path serves it: the
    /// region's name, location and drain with the service's upstreams (checked at themselves),
    /// health check, balancing, mode and redirect URL (else the region's).
    public func deployment(in region: RegionConfig) -> RegionConfig {
        let upstreams = upstreams[region.name] ?? []
        var entry = RegionConfig(
            name: region.name, location: region.location, redirectURL: redirectURLs[region.name] ?? region.redirectURL,
            mode: mode, upstreams: upstreams, loadBalancing: loadBalancing,
            healthCheck: upstreams.isEmpty ? nil : healthCheck,
            healthTargets: upstreams.map { HealthTarget(upstream: $0) },
            minHealthy: 1, drain: region.drain)
        entry.service = name
        entry.bias = region.bias
        return entry
    }

    /// The keys of a `services` entry.
    static let configKeys = ["upstreams", "health_check", "lb", "redirect_urls", "mode", "cache"]

    /// Reads the `services` object (service name → entry): the valid services, sorted by name, and
    /// the names of every entry (so that a route naming a broken service is not reported a second
    /// time).
    static func readAll(
        _ value: JSONValue, regionNames: [String], inherited: RoutesConfig.Inherited, reader: inout ConfigReader
    ) -> (services: [ServiceConfig], names: Set<String>) {
        guard case .object(let entries) = value else {
            reader.fail("services", "expected an object, found \(value.kind)")
            return ([], [])
        }
        var services: [ServiceConfig] = []
        for name in entries.keys.sorted() {
            let path = ConfigReader.join("services", name)
            let validName = RegionConfig.isValidName(name) && !name.isEmpty
            if !validName {
                reader.fail(
                    path, "the service name may only use a-z, 0-9, \".\", \"_\" and \"-\" (at most 63 characters)")
            }
            guard let fields = reader.object(entries[name]!, at: path, allowed: configKeys) else { continue }
            if let service = read(
                fields, at: path, name: name, regionNames: regionNames, inherited: inherited, reader: &reader),
                validName
            {
                services.append(service)
            }
        }
        return (services, Set(entries.keys))
    }

    /// One service's entry; nil when anything in it was reported.
    private static func read(
        _ fields: [String: JSONValue], at path: String, name: String, regionNames: [String],
        inherited: RoutesConfig.Inherited, reader: inout ConfigReader
    ) -> ServiceConfig? {
        let before = reader.issues.count
        func key(_ name: String) -> String { ConfigReader.join(path, name) }
        var service = ServiceConfig(
            name: name, healthCheck: inherited.healthCheck, loadBalancing: inherited.loadBalancing,
            mode: inherited.mode)
        if let value = fields["mode"], let mode = RoutingMode.read(value, at: key("mode"), reader: &reader) {
            service.mode = mode
        }
        if let value = fields["lb"], let policy = LoadBalancing.read(value, at: key("lb"), reader: &reader) {
            service.loadBalancing = policy
        }
        if let value = fields["health_check"] {
            if value == .bool(false) || value == .null {
                service.healthCheck = nil
            } else {
                service.healthCheck = HealthCheckSettings.read(
                    value, at: key("health_check"), base: inherited.healthCheck ?? HealthCheckSettings(),
                    reader: &reader)
            }
        }
        if let value = fields["upstreams"] {
            service.upstreams = readUpstreams(value, at: key("upstreams"), regionNames: regionNames, reader: &reader)
        }
        if let value = fields["redirect_urls"] {
            service.redirectURLs = readRedirectURLs(
                value, at: key("redirect_urls"), regionNames: regionNames, reader: &reader)
        }
        if let value = fields["cache"] {
            service.cache = CacheOverride.read(value, at: key("cache"), reader: &reader)
        }
        guard reader.issues.count == before else { return nil }
        service.regions = regionNames.filter { service.upstreams[$0] != nil || service.redirectURLs[$0] != nil }
        if service.mode == .proxy && service.upstreams.values.allSatisfy(\.isEmpty) {
            reader.fail(key("upstreams"), "needs at least one upstream in proxy mode")
            return nil
        }
        if service.regions.isEmpty {
            reader.fail(path, "runs in no region: give upstreams or redirect_urls for at least one region")
            return nil
        }
        return service
    }

    /// `upstreams`: region name → array of upstream entries (at most 64 per region).
    private static func readUpstreams(
        _ value: JSONValue, at path: String, regionNames: [String], reader: inout ConfigReader
    ) -> [String: [UpstreamConfig]] {
        var result: [String: [UpstreamConfig]] = [:]
        for (region, value) in byRegion(value, at: path, regionNames: regionNames, reader: &reader) {
            let regionPath = ConfigReader.join(path, region)
            guard let list = reader.array(value, at: regionPath) else { continue }
            var upstreams: [UpstreamConfig] = []
            for (index, entry) in list.enumerated() {
                if let upstream = UpstreamConfig.read(entry, at: ConfigReader.join(regionPath, index), reader: &reader)
                {
                    upstreams.append(upstream)
                }
            }
            if list.isEmpty {
                reader.fail(regionPath, "needs at least one upstream (leave the region out instead)")
            } else if upstreams.count > 64 {
                reader.fail(regionPath, "has \(upstreams.count) upstreams; at most 64 per region")
            }
            result[region] = upstreams
        }
        return result
    }

    /// `redirect_urls`: region name → URL, with the rules of a region's `redirect_url`.
    private static func readRedirectURLs(
        _ value: JSONValue, at path: String, regionNames: [String], reader: inout ConfigReader
    ) -> [String: RedirectURL] {
        var result: [String: RedirectURL] = [:]
        for (region, value) in byRegion(value, at: path, regionNames: regionNames, reader: &reader) {
            let urlPath = ConfigReader.join(path, region)
            guard let text = reader.string(value, at: urlPath) else { continue }
            switch RedirectURL.parse(text) {
            case .success(let url): result[region] = url
            case .failure(let error): reader.fail(urlPath, "\(value.brief): \(error.reason)")
            }
        }
        return result
    }

    /// An object keyed by region name: its entries for known regions, in the regions' file order;
    /// any other key is reported as no region (with a suggestion when one name is close).
    private static func byRegion(
        _ value: JSONValue, at path: String, regionNames: [String], reader: inout ConfigReader
    ) -> [(String, JSONValue)] {
        guard case .object(let fields) = value else {
            reader.fail(path, "expected an object of region names, found \(value.kind)")
            return []
        }
        for key in fields.keys.sorted() where !regionNames.contains(key) {
            reader.fail(ConfigReader.join(path, key), RoutesConfig.unknownName(key, kind: "region", known: regionNames))
        }
        return regionNames.compactMap { name in fields[name].map { (name, $0) } }
    }
}
