import GeoIP

/// The validated contents of `regions.json`. Built only by ``ConfigLoader``, so every value here
/// has passed validation; paths are already resolved against the config file's folder.
public struct GeoFrontConfig: Sendable {
    /// Where the front door listens (`listen`).
    public var listen: HostPort
    /// The GeoIP database and centroid table (`geoip`).
    public var geoip: GeoIPSettings
    /// How requests are answered (`mode`).
    public var mode: RoutingMode
    /// Redirect-mode settings (`redirect`).
    public var redirect: RedirectSettings
    /// Peers whose forwarding headers are believed (`trusted_proxies`).
    public var trustedProxies: [IPNetwork]
    /// The region for clients without a location (`default_region`).
    public var defaultRegion: String
    /// The regions, in file order; the order breaks exact distance ties.
    public var regions: [RegionConfig]
    /// Connection limits and timeouts of the public listener (`server`).
    public var server: ServerSettings
    /// What happens when no region is available (`when_all_down`).
    public var whenAllDown: AllDownPolicy
    /// Proxy-mode settings (`proxy`).
    public var proxy: ProxySettings
    /// The admin listener (`admin`).
    public var admin = AdminSettings()
    /// The access log (`access_log`); nil when off.
    public var accessLog: AccessLogSettings?
    /// Per-client token buckets (`rate_limit`); nil when off.
    public var rateLimit: RateLimitSettings?
    /// Connections start with a PROXY protocol header (`proxy_protocol`), from trusted peers only.
    public var proxyProtocol = false
    /// TLS termination (`tls`); nil when off.
    public var tls: TLSListenerSettings?
    /// `services`, `routes` and `default_route`; nil when the file has no routes (every request
    /// goes to the regions' own upstreams or redirect URLs).
    public var routes: RoutesConfig?
    /// `policies`, in file order (the first that matches a client applies).
    public var policies: [TrafficPolicy] = []
    /// `affinity`: the signed cookie that keeps a client in its region; nil: none.
    public var affinity: AffinitySettings?
    /// `cache`: the response cache of proxy mode; nil: off. Routes and services may turn it off or
    /// override its keys: ``cacheSettings(route:service:)``.
    public var cache: CacheSettings?

    public init(
        listen: HostPort, geoip: GeoIPSettings, mode: RoutingMode, redirect: RedirectSettings,
        trustedProxies: [IPNetwork], defaultRegion: String, regions: [RegionConfig], server: ServerSettings,
        whenAllDown: AllDownPolicy = .nearest, proxy: ProxySettings = ProxySettings()
    ) {
        self.listen = listen
        self.geoip = geoip
        self.mode = mode
        self.redirect = redirect
        self.trustedProxies = trustedProxies
        self.defaultRegion = defaultRegion
        self.regions = regions
        self.server = server
        self.whenAllDown = whenAllDown
        self.proxy = proxy
    }

    /// What requests are served by, region by region: first the regions themselves (their own
    /// `upstreams` and `redirect_url`: the implicit default service), then, per service in name
    /// order, one entry per region the service runs in (`service` set; upstreams, health check,
    /// balancing, mode and redirect URL the service's; name, location and drain the region's).
    /// Health checks, outlier detection and balancers keep state per entry.
    public var deployments: [RegionConfig] {
        guard let routes, !routes.services.isEmpty else { return regions }
        var all = regions
        for service in routes.services {
            for region in regions where service.regions.contains(region.name) {
                all.append(service.deployment(in: region))
            }
        }
        return all
    }
}

/// How GeoFront answers a request once the region is chosen.
public enum RoutingMode: String, Sendable, CaseIterable {
    /// Answer with a redirect to the region's `redirect_url`.
    case redirect
    /// Forward the request to one of the region's `upstreams` and stream the answer back.
    case proxy
}

extension RoutingMode {
    /// Reads a mode name (the global `mode`, a region's `mode`).
    static func read(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> RoutingMode? {
        guard let text = reader.string(value, at: path) else { return nil }
        guard let mode = RoutingMode(rawValue: text) else {
            let allowed = allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            reader.fail(path, "\(value.brief) is not a mode; allowed: \(allowed)")
            return nil
        }
        return mode
    }
}
