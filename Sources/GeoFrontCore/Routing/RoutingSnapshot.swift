import GeoIP

/// Everything a request needs to be routed, frozen: the configuration, the open GeoIP database,
/// the regions with their availability, and the trusted proxies. Never mutated; health checks and
/// reloads build a new snapshot and publish it, so the request path reads without locks.
public final class RoutingSnapshot: Sendable {
    public let config: GeoFrontConfig
    public let database: GeoIPDatabase
    /// What requests are served by (``GeoFrontConfig/deployments``) with their availability: the
    /// regions themselves first (indices below `config.regions.count`), then each service's
    /// regions (``services`` says which range is whose). A decision's `regionIndex` is an index
    /// here.
    public let regions: [RegionEntry]
    /// The default region's index (among the regions themselves).
    public let defaultRegionIndex: Int
    public let clientIPResolver: ClientIPResolver
    /// Each entry's health and drain state, in the order of ``regions``.
    public let statuses: [RegionStatus]
    /// Increases by one with every configuration (re)load.
    public let generation: UInt64
    /// `Retry-After` seconds for 503s when every region is down: the slowest region's worst-case
    /// recovery time, at least 1.
    public let retryAfterSeconds: Int
    /// The mode every region has, or nil when they mix (the `mode` label of answers with no region).
    public let uniformMode: RoutingMode?
    /// The regions' own upstreams (index 0: the implicit default service), then `services` in
    /// name order.
    public let services: [ServiceEntry]
    /// The routes (nil when the configuration has none: every request goes to service 0), with
    /// their current weights.
    public let routes: RouteTable?
    /// Per route: what it does to a request besides choosing its service.
    public let routeActions: [RouteActions]
    /// Per route, per backend: its index in ``services``.
    public let backendServices: [[Int]]
    /// `policies`, compiled.
    public let policies: PolicyTable
    /// Per entry of ``regions``: its region's index in `config.regions`.
    public let regionOrdinals: [Int]
    /// Per entry: the factor its distance is steered by (`1 − bias/100`); nil when no region has
    /// a bias.
    public let biasFactors: [Double]?
    /// The regions' load against their `capacity` (shared by the snapshots of one configuration);
    /// nil when no region has one.
    public let regionLoad: RegionLoad?
    /// The decision has rules beyond the nearest region (policies, biases or capacities).
    public let hasRules: Bool
    /// `affinity`'s cookie, with every region's token; nil without `affinity`.
    public let affinity: AffinityTable?
    /// The routes' runtime state (weights set at run time, rollbacks, counts), shared by every
    /// snapshot of this configuration and carried over a reload; nil without routes.
    public let routeControl: RouteControl?
    /// The response cache's settings per route and backend (``GeoFrontConfig/cachePlan``).
    public let cachePlan: CachePlan

    /// - Parameter statuses: per entry of ``GeoFrontConfig/deployments``, in order; nil means
    ///   every entry at its initial status (healthy unless `drain` is set).
    /// - Parameter routeControl: the routes' runtime state (a reload passes one carried over from
    ///   the previous configuration's); nil: a fresh one when `config` has routes.
    /// - Parameter routeWeights: per route, per backend, the weights in force; nil: the control's.
    public convenience init(
        config: GeoFrontConfig, database: GeoIPDatabase, statuses: [RegionStatus]? = nil, generation: UInt64 = 1,
        routeControl: RouteControl? = nil, routeWeights: [[Int]]? = nil
    ) {
        let deployments = config.deployments
        let control = config.routes.map { routeControl ?? RouteControl(routes: $0.routes) }
        var table = config.routes?.table()
        if let base = table, let weights = routeWeights ?? control?.currentWeights() {
            table = base.applying(weights)
        }
        self.init(
            config: config, deployments: deployments, database: database,
            statuses: statuses ?? deployments.map { RegionStatus(initialFor: $0) }, generation: generation,
            routes: table, routeControl: control, previous: nil)
    }

    /// `previous`: a snapshot of the same configuration, whose per-configuration parts are reused.
    private init(
        config: GeoFrontConfig, deployments: [RegionConfig], database: GeoIPDatabase, statuses: [RegionStatus],
        generation: UInt64, routes: RouteTable?, routeControl: RouteControl?, previous: RoutingSnapshot?
    ) {
        precondition(statuses.count == deployments.count)
        self.config = config
        self.database = database
        self.statuses = statuses
        self.generation = generation
        self.routes = routes
        self.routeControl = routeControl
        self.cachePlan = config.cachePlan
        self.regions = deployments.indices.map { index in
            let entry = deployments[index]
            var available = statuses[index].isAvailable
            // A service without upstreams of its own in a region (redirects only) stands or falls
            // with the region's own checks.
            if entry.service != nil, entry.upstreams.isEmpty,
                let region = config.regions.firstIndex(where: { $0.name == entry.name })
            {
                available = available && statuses[region].isAvailable
            }
            return RegionEntry(config: entry, isAvailable: available)
        }
        if let previous {
            policies = previous.policies
            regionOrdinals = previous.regionOrdinals
            biasFactors = previous.biasFactors
            hasRules = previous.hasRules
            regionLoad = previous.regionLoad
            affinity = previous.affinity
            retryAfterSeconds = previous.retryAfterSeconds
            defaultRegionIndex = previous.defaultRegionIndex
            clientIPResolver = previous.clientIPResolver
            uniformMode = previous.uniformMode
            services = previous.services
            routeActions = previous.routeActions
            backendServices = previous.backendServices
            return
        }
        let regionNames = config.regions.map(\.name)
        policies = PolicyTable(config.policies, regionNames: regionNames)
        regionOrdinals = deployments.map { entry in regionNames.firstIndex(of: entry.name) ?? 0 }
        biasFactors =
            deployments.contains { $0.bias != 0 } ? deployments.map { 1 - Double($0.bias) / 100 } : nil
        regionLoad =
            config.regions.contains { $0.capacity != nil }
            ? RegionLoad(capacities: config.regions.map(\.capacity)) : nil
        hasRules = !config.policies.isEmpty || biasFactors != nil || regionLoad != nil
        affinity = config.affinity.map { AffinityTable(settings: $0, regionNames: regionNames) }
        let slowest = deployments.compactMap { $0.healthCheck?.worstCaseRecoveryMilliseconds }.max() ?? 1000
        retryAfterSeconds = max(1, (slowest + 999) / 1000)
        let defaultRegionIndex = config.regions.firstIndex { $0.name == config.defaultRegion } ?? 0
        self.defaultRegionIndex = defaultRegionIndex
        clientIPResolver = ClientIPResolver(trustedProxies: config.trustedProxies)
        var services = [
            ServiceEntry(name: nil, deployments: 0..<config.regions.count, defaultIndex: defaultRegionIndex)
        ]
        var start = config.regions.count
        for service in config.routes?.services ?? [] {
            let range = start..<(start + service.regions.count)
            let defaultIndex = range.first { deployments[$0].name == config.defaultRegion }
            services.append(ServiceEntry(name: service.name, deployments: range, defaultIndex: defaultIndex))
            start = range.upperBound
        }
        self.services = services
        // With routes, the services answer; without, the regions themselves.
        let served =
            config.routes == nil
            ? deployments.prefix(config.regions.count) : deployments.dropFirst(config.regions.count)
        let modes = Set(served.map(\.mode))
        uniformMode = modes.count == 1 ? modes.first : nil
        let routeConfigs = config.routes?.routes ?? []
        routeActions = routeConfigs.map(RouteActions.init)
        backendServices = routeConfigs.map { route in
            route.backends.map { backend in services.firstIndex { $0.name == backend.service } ?? 0 }
        }
    }

    /// Opens the configured database (and centroid table) for `config`. A reload passes the
    /// previous snapshot's ``routeControl`` as `carryingOver`: routes whose backends did not
    /// change keep their runtime weights, rollbacks and counts.
    public static func open(config: GeoFrontConfig, generation: UInt64 = 1, carryingOver previous: RouteControl? = nil)
        throws(GeoIPError) -> RoutingSnapshot
    {
        let centroids = try config.geoip.countryCentroids.map { path throws(GeoIPError) in
            try CountryCentroids(contentsOf: path)
        }
        let database = try GeoIPDatabase(path: config.geoip.database, centroids: centroids ?? CountryCentroids())
        let control = config.routes.map { RouteControl(routes: $0.routes, carryingOver: previous) }
        return RoutingSnapshot(config: config, database: database, generation: generation, routeControl: control)
    }

    /// The same configuration and database with new statuses.
    public func with(statuses: [RegionStatus]) -> RoutingSnapshot {
        RoutingSnapshot(
            config: config, deployments: regions.map(\.config), database: database, statuses: statuses,
            generation: generation, routes: routes, routeControl: routeControl, previous: self)
    }

    /// The same configuration, database and statuses with the routes' weights replaced (per
    /// route, per backend: a runtime change or a rollback).
    public func with(routeWeights: [[Int]]) -> RoutingSnapshot {
        RoutingSnapshot(
            config: config, deployments: regions.map(\.config), database: database, statuses: statuses,
            generation: generation, routes: routes?.applying(routeWeights), routeControl: routeControl,
            previous: self)
    }

    /// Whether `monitor` keeps the health of this snapshot's entries (the same entries, upstreams
    /// and targets): a monitor left over from before a reload does not.
    public func isDescribed(by monitor: HealthMonitor) -> Bool {
        regions.count == monitor.regions.count
            && zip(regions, monitor.regions).allSatisfy {
                $0.config.id == $1.id && $0.config.upstreams.map(\.address) == $1.upstreams.map(\.address)
                    && $0.config.healthTargets == $1.healthTargets
            }
    }
}

/// One service of a snapshot: which of its entries are this service's regions.
public struct ServiceEntry: Sendable {
    /// The name in `services`; nil for the regions' own upstreams (the implicit default service).
    public let name: String?
    /// Its entries in ``RoutingSnapshot/regions``.
    public let deployments: Range<Int>
    /// Its entry in the default region, when it runs there.
    public let defaultIndex: Int?
}
