/// Proxy-mode settings (`proxy`); the defaults are documented in the README.
public struct ProxySettings: Sendable, Hashable {
    /// Time to establish a TCP (and TLS) connection to an upstream.
    public var connectTimeoutMilliseconds: Int = 1000
    /// Time from the request being sent to the upstream's response head arriving (504 after).
    public var responseTimeoutMilliseconds: Int = 30_000
    /// Longest silence from the upstream while its response body streams (the client's
    /// response is cut after it).
    public var idleTimeoutMilliseconds: Int = 60_000
    /// Longest silence in both directions of a tunnel (WebSocket or another upgrade after
    /// `101`) before it is closed.
    public var tunnelIdleTimeoutMilliseconds: Int = 3_600_000
    /// Attempts per request, over the region's upstreams and then the next-nearest regions.
    public var maxAttempts: Int = 3
    /// Open connections to one upstream from one event loop.
    public var maxConnectionsPerUpstream: Int = 256
    /// A pooled keep-alive connection unused for this long is closed.
    public var poolIdleTimeoutMilliseconds: Int = 30_000
    /// What `Host` the upstream sees.
    public var hostHeader: HostHeaderPolicy = .client
    /// Response headers removed before the client sees them (lower case), e.g. `x-powered-by`.
    public var stripResponseHeaders: [String] = []
    /// Whether the origin's `Server` field reaches clients (`server_header: "pass"`); by default
    /// it is removed, as nginx and Envoy replace it, so an origin's software is not given away.
    public var passServerHeader = false

    /// Every response field name the client never sees (lower case): `strip_response_headers`,
    /// plus `server` unless `server_header` is `pass`.
    public var removedResponseHeaders: [String] {
        if passServerHeader || stripResponseHeaders.contains("server") { return stripResponseHeaders }
        return stripResponseHeaders + ["server"]
    }
    /// How an upstream is picked inside a region.
    public var loadBalancing: LoadBalancing = .roundRobin
    /// Passive health: ejecting upstreams that keep failing.
    public var outlierDetection = OutlierDetectionSettings()
    /// How TLS upstreams are verified (`upstream_tls`).
    public var upstreamTLS = UpstreamTLSSettings()

    public init() {}
}

public enum HostHeaderPolicy: Sendable, Hashable {
    /// Forward the client's `Host` unchanged.
    case client
    /// The upstream's `host:port`.
    case upstream
    /// This exact value.
    case fixed(String)
}

public enum LoadBalancing: String, Sendable, Hashable, CaseIterable {
    /// Smooth weighted round-robin (as nginx does it).
    case roundRobin = "round_robin"
    /// Power of two choices: of two weighted-random upstreams, the one with fewer requests in flight.
    case leastRequests = "least_requests"
}

/// Outlier detection (`proxy.outlier_detection`).
public struct OutlierDetectionSettings: Sendable, Hashable {
    /// Consecutive failures (connect errors, timeouts, resets, and 5xx when `count_5xx`) that eject.
    public var consecutiveFailures: Int = 5
    /// Whether 5xx responses count as failures.
    public var count5xx: Bool = true
    /// First ejection length; the n-th ejection in a row lasts n times as long.
    public var baseEjectionMilliseconds: Int = 30_000
    /// Upper bound of an ejection.
    public var maxEjectionMilliseconds: Int = 300_000
    /// At most this share of a region's upstreams is ejected at once.
    public var maxEjectionPercent: Int = 50

    public init() {}
}

/// Verification of TLS upstreams (`proxy.upstream_tls`), and of health checks' TLS targets.
public struct UpstreamTLSSettings: Sendable, Hashable {
    /// PEM file of the certificate authorities to trust; the system's trust store when nil.
    public var caFile: String?
    /// Check the upstream's certificate chain and name. On by default; turning it off is for
    /// test setups only.
    public var verify: Bool = true

    public init(caFile: String? = nil, verify: Bool = true) {
        self.caFile = caFile
        self.verify = verify
    }
}

/// One entry of a region's `upstreams`.
///
/// The pools key their connections by it, twice per proxied request (take one, give it back):
/// its hash is computed once, when a field is set, instead of hashing the host's string each time.
public struct UpstreamConfig: Sendable, Hashable, CustomStringConvertible {
    public var address: HostPort { didSet { rehash() } }
    /// Relative share of traffic, 1…1000.
    public var weight: Int { didSet { rehash() } }
    /// Speak TLS to this upstream (`https://host:port`, or `"tls": true`), verifying its certificate.
    public var tls: Bool { didSet { rehash() } }
    /// Name for SNI and certificate verification; the host when nil.
    public var serverName: String? { didSet { rehash() } }
    /// The HTTP version spoken to this upstream (`"protocol"`).
    public var httpProtocol: UpstreamProtocol { didSet { rehash() } }
    /// The hash of the fields above.
    private var fieldsHash = 0

    public init(
        address: HostPort, weight: Int = 1, tls: Bool = false, serverName: String? = nil,
        httpProtocol: UpstreamProtocol = .http1
    ) {
        self.address = address
        self.weight = weight
        self.tls = tls
        self.serverName = serverName
        self.httpProtocol = httpProtocol
        rehash()
    }

    private mutating func rehash() {
        var hasher = Hasher()
        hasher.combine(address)
        hasher.combine(weight)
        hasher.combine(tls)
        hasher.combine(serverName)
        hasher.combine(httpProtocol)
        fieldsHash = hasher.finalize()
    }

    public static func == (lhs: UpstreamConfig, rhs: UpstreamConfig) -> Bool {
        lhs.fieldsHash == rhs.fieldsHash && lhs.address == rhs.address && lhs.weight == rhs.weight
            && lhs.tls == rhs.tls && lhs.serverName == rhs.serverName && lhs.httpProtocol == rhs.httpProtocol
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fieldsHash)
    }

    public var description: String { (tls ? "https://" : "") + address.description }
}

/// An upstream's `"protocol"`.
public enum UpstreamProtocol: String, Sendable, Hashable, CaseIterable {
    /// HTTP/1.1 with keep-alive, one request per connection at a time (the default).
    case http1 = "http/1.1"
    /// HTTP/2: over TLS with ALPN `h2` (`https://`), else h2c with prior knowledge; requests are
    /// multiplexed as streams over few connections.
    case h2
}
