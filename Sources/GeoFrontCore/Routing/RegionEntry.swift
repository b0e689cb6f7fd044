import GeoIP

/// A region as the request path sees it: its configuration, the values precomputed for distance
/// and redirect building, and whether it may receive traffic now.
public struct RegionEntry: Sendable {
    public let config: RegionConfig
    public let point: GreatCircle.Point
    /// False when the region must not be chosen (health checks and drains set this).
    public let isAvailable: Bool
    /// `redirect_url` as bytes, ready to be followed by the request's path and query.
    public let redirectBase: [UInt8]

    public var name: String { config.name }

    public init(config: RegionConfig, isAvailable: Bool = true) {
        self.config = config
        self.point = GreatCircle.Point(config.location)
        self.isAvailable = isAvailable
        self.redirectBase = Array((config.redirectURL?.base ?? "").utf8)
    }
}
