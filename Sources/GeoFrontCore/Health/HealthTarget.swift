/// One address a region's health is probed at.
public struct HealthTarget: Sendable, Hashable, CustomStringConvertible {
    public let address: HostPort
    /// Overrides the check's `path` (from a region's `url`).
    public let path: String?
    /// Overrides the check's `Host` header (from a region's `url`).
    public let hostHeader: String?
    /// Probe over TLS (an `https://` upstream or `url`), verified as the proxy verifies upstreams
    /// (`proxy.upstream_tls`).
    public let tls: Bool
    /// Name for SNI and certificate verification; the host when nil (no SNI for an IP address).
    public let serverName: String?
    /// Probe over HTTP/2 (an upstream with `"protocol": "h2"`): ALPN `h2` over TLS, else h2c
    /// with prior knowledge.
    public let http2: Bool

    public init(
        address: HostPort, path: String? = nil, hostHeader: String? = nil, tls: Bool = false,
        serverName: String? = nil, http2: Bool = false
    ) {
        self.address = address
        self.path = path
        self.hostHeader = hostHeader
        self.tls = tls
        self.serverName = serverName
        self.http2 = http2
    }

    /// An upstream, checked as the proxy reaches it.
    public init(upstream: UpstreamConfig) {
        self.init(
            address: upstream.address, tls: upstream.tls, serverName: upstream.serverName,
            http2: upstream.httpProtocol == .h2)
    }

    public var description: String { (tls ? "https://" : "") + address.description }
}

/// What to do when no region is available.
public enum AllDownPolicy: String, Sendable, CaseIterable {
    /// Fail open: route to the nearest region anyway.
    case nearest
    /// Answer 503 with `Retry-After`.
    case unavailable
}
