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
    /// Increases by one with every configuration (re)load.
    public let generation: UInt64

    public init(
        config: GeoFrontConfig, database: GeoIPDatabase, availability: [String: Bool] = [:], generation: UInt64 = 1
    ) {
        self.config = config
        self.database = database
        self.regions = config.regions.map { RegionEntry(config: $0, isAvailable: availability[$0.name] ?? true) }
        self.defaultRegionIndex = config.regions.firstIndex { $0.name == config.defaultRegion } ?? 0
        self.clientIPResolver = ClientIPResolver(trustedProxies: config.trustedProxies)
        self.generation = generation
    }

    /// Opens the configured database (and centroid table) for `config`.
    public static func open(config: GeoFrontConfig, generation: UInt64 = 1) throws(GeoIPError) -> RoutingSnapshot {
        let centroids = try config.geoip.countryCentroids.map { path throws(GeoIPError) in
            try CountryCentroids(contentsOf: path)
        }
        let database = try GeoIPDatabase(path: config.geoip.database, centroids: centroids ?? CountryCentroids())
        return RoutingSnapshot(config: config, database: database, generation: generation)
    }

    /// The hot path: the client's coordinate from the database, then the nearest available region.
    @inline(__always)
    public func choose(for client: IPAddress) -> RegionChoice {
        RegionSelector.select(for: database.coordinate(of: client), regions: regions, defaultIndex: defaultRegionIndex)
    }
}
