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
}

public struct GeoIPSettings: Sendable, Hashable {
    /// Absolute or working-directory-relative path of the `.mmdb` file.
    public var database: String
    /// Path of the country centroid table; nil disables the fallback.
    public var countryCentroids: String?

    public init(database: String, countryCentroids: String?) {
        self.database = database
        self.countryCentroids = countryCentroids
    }
}

/// How GeoFront answers a request once the region is chosen.
public enum RoutingMode: String, Sendable, CaseIterable {
    /// Answer with a redirect to the region's `redirect_url`.
    case redirect
    /// Forward the request to one of the region's `upstreams` and stream the answer back.
    case proxy
}

public struct RedirectSettings: Sendable, Hashable {
    /// 301, 302, 303, 307 or 308.
    public var status: Int

    public static let allowedStatuses = [301, 302, 303, 307, 308]

    public init(status: Int = 302) {
        self.status = status
    }
}

/// Limits and timeouts of the public listener; the defaults are documented in the README.
public struct ServerSettings: Sendable, Hashable {
    /// A keep-alive connection with no request in progress is closed after this long.
    public var idleTimeoutMilliseconds: Int
    /// From the first byte of a request, its whole head must arrive within this time (slow clients
    /// get 408 and are disconnected). Also bounds the time to receive a request body.
    public var requestTimeoutMilliseconds: Int
    /// Largest request head (request line plus headers) accepted; larger ones get 431.
    public var maxRequestHeadBytes: Int
    /// Event-loop threads; 0 means one per CPU core.
    public var threads: Int
    /// On SIGTERM/SIGINT, requests in flight get this long to finish before connections are cut.
    public var shutdownGraceMilliseconds: Int = 10_000
    /// When every region redirects, serve connections with the byte-level fast path instead of
    /// the general HTTP/1.1 pipeline.
    public var fastPath = true
    /// Open client connections at most (new ones beyond are closed at once); 0 = no limit.
    public var maxConnections = 50_000
    /// Open connections from one client address at most (the TCP peer); 0 = no limit.
    public var maxConnectionsPerIP = 0
    /// Requests on one keep-alive connection at most (the last answer says `Connection: close`);
    /// 0 = no limit.
    public var maxRequestsPerConnection = 10_000
    /// A client that takes nothing of what is written to it for this long (its connection stays
    /// full) is disconnected: a reader that stopped cannot hold a connection, an upstream
    /// exchange or its buffers forever.
    public var sendTimeoutMilliseconds = 60_000

    public init(
        idleTimeoutMilliseconds: Int = 60_000, requestTimeoutMilliseconds: Int = 10_000,
        maxRequestHeadBytes: Int = 32_768, threads: Int = 0
    ) {
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.maxRequestHeadBytes = maxRequestHeadBytes
        self.threads = threads
    }
}

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
}
