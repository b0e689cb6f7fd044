/// One address a region's health is probed at.
public struct HealthTarget: Sendable, Hashable, CustomStringConvertible {
    public let address: HostPort
    /// Overrides the check's `path` (from a region's `url`).
    public let path: String?
    /// Overrides the check's `Host` header (from a region's `url`).
    public let hostHeader: String?

    public init(address: HostPort, path: String? = nil, hostHeader: String? = nil) {
        self.address = address
        self.path = path
        self.hostHeader = hostHeader
    }

    public var description: String { address.description }
}

/// What to do when no region is available.
public enum AllDownPolicy: String, Sendable, CaseIterable {
    /// Fail open: route to the nearest region anyway.
    case nearest
    /// Answer 503 with `Retry-After`.
    case unavailable
}
