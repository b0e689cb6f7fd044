import GeoIP

/// Everything a request needs to be routed, frozen: the configuration, the open GeoIP database,
/// the regions with their availability, and the trusted proxies. Never mutated; health checks and
/// reloads build a new snapshot and publish it, so the request path reads without locks.
public final class RoutingSnapshot: Sendable {
    public let config: GeoFrontConfig
    public let database: GeoIPDatabase
    public let regions: [RegionEntry]
    public let defaultRegionIndex: Int
    public let clientIPResolver: ClientIPResolver
    /// Each region's health and drain state, in config order.
    public let statuses: [RegionStatus]
    /// Increases by one with every configuration (re)load.
    public let generation: UInt64
    /// `Retry-After` seconds for 503s when every region is down: the slowest region's worst-case
    /// recovery time, at least 1.
    public let retryAfterSeconds: Int
    /// The mode every region has, or nil when they mix (the `mode` label of answers with no region).
    public let uniformMode: RoutingMode?

    /// - Parameter statuses: per region, in config order; nil means every region at its initial
    ///   status (healthy unless `drain` is set).
    public init(
        config: GeoFrontConfig, database: GeoIPDatabase, statuses: [RegionStatus]? = nil, generation: UInt64 = 1
    ) {
        let statuses = statuses ?? config.regions.map { RegionStatus(initialFor: $0) }
        precondition(statuses.count == config.regions.count)
        self.config = config
        self.database = database
        self.statuses = statuses
        self.regions = zip(config.regions, statuses).map { RegionEntry(config: $0, isAvailable: $1.isAvailable) }
        let slowest = config.regions.compactMap { $0.healthCheck?.worstCaseRecoveryMilliseconds }.max() ?? 1000
        self.retryAfterSeconds = max(1, (slowest + 999) / 1000)
        self.defaultRegionIndex = config.regions.firstIndex { $0.name == config.defaultRegion } ?? 0
        self.clientIPResolver = ClientIPResolver(trustedProxies: config.trustedProxies)
        self.generation = generation
        let modes = Set(config.regions.map(\.mode))
        self.uniformMode = modes.count == 1 ? modes.first : nil
    }

    /// Opens the configured database (and centroid table) for `config`.
    public static func open(config: GeoFrontConfig, generation: UInt64 = 1) throws(GeoIPError) -> RoutingSnapshot {
        let centroids = try config.geoip.countryCentroids.map { path throws(GeoIPError) in
            try CountryCentroids(contentsOf: path)
        }
        let database = try GeoIPDatabase(path: config.geoip.database, centroids: centroids ?? CountryCentroids())
        return RoutingSnapshot(config: config, database: database, generation: generation)
    }

    /// The same configuration and database with new region statuses.
    public func with(statuses: [RegionStatus]) -> RoutingSnapshot {
        RoutingSnapshot(config: config, database: database, statuses: statuses, generation: generation)
    }
}
