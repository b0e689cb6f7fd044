/// The response cache of proxy mode (`cache`): how much it holds and how it keys and serves
/// responses. Off (nil in ``GeoFrontConfig/cache``) unless the file has the key.
public struct CacheSettings: Sendable, Hashable {
    /// `memory_mb`: the bytes of every stored response together, in MiB (global only).
    public var memoryMB: Int
    /// `max_object_kb`: the largest response stored, in KiB.
    public var maxObjectKB: Int
    /// `stale_if_error_s`: how long past freshness a stored response may answer when the origin fails
    /// (RFC 5861), unless the response says otherwise.
    public var staleIfErrorSeconds: Int
    /// `stale_while_revalidate_s`: how long past freshness a stored response may answer while it is
    /// revalidated in the background (RFC 5861), unless the response says otherwise.
    public var staleWhileRevalidateSeconds: Int
    /// `key.include_region`: the chosen region is part of the cache key.
    public var includeRegion: Bool
    /// `key.query`: what of the query string is part of the cache key.
    public var query: CacheQueryPolicy

    public static let defaultMemoryMB = 256
    public static let defaultMaxObjectKB = 8192
    /// The largest `memory_mb` (1 TiB).
    public static let maxMemoryMB = 1_048_576
    /// The largest stale window, in seconds (2^31, as for Cache-Control delta-seconds).
    public static let maxStaleSeconds = 2_147_483_648

    public init(
        memoryMB: Int = defaultMemoryMB, maxObjectKB: Int = defaultMaxObjectKB, staleIfErrorSeconds: Int = 0,
        staleWhileRevalidateSeconds: Int = 0, includeRegion: Bool = false, query: CacheQueryPolicy = .all
    ) {
        self.memoryMB = memoryMB
        self.maxObjectKB = maxObjectKB
        self.staleIfErrorSeconds = staleIfErrorSeconds
        self.staleWhileRevalidateSeconds = staleWhileRevalidateSeconds
        self.includeRegion = includeRegion
        self.query = query
    }

    /// `memory_mb` in bytes.
    public var memoryBytes: Int { memoryMB * 1024 * 1024 }
    /// `max_object_kb` in bytes.
    public var maxObjectBytes: Int { maxObjectKB * 1024 }
}

/// A route's or a service's `cache`: `false` turns the cache off for its requests; `true` or an
/// object turns it on, with the keys the object sets replacing those of the level below.
public enum CacheOverride: Sendable, Hashable {
    /// `"cache": false`.
    case off
    /// `"cache": true` (no keys set) or an object of keys.
    case on(CacheSettingsOverride)

    /// `"cache": true`.
    public static let inherit = CacheOverride.on(CacheSettingsOverride())
}

/// The keys a route's or a service's `cache` object sets (nil: taken from the level below). Every
/// key of the top-level `cache` but `memory_mb`, which is global.
public struct CacheSettingsOverride: Sendable, Hashable {
    public var maxObjectKB: Int?
    public var staleIfErrorSeconds: Int?
    public var staleWhileRevalidateSeconds: Int?
    public var includeRegion: Bool?
    public var query: CacheQueryPolicy?

    public init(
        maxObjectKB: Int? = nil, staleIfErrorSeconds: Int? = nil, staleWhileRevalidateSeconds: Int? = nil,
        includeRegion: Bool? = nil, query: CacheQueryPolicy? = nil
    ) {
        self.maxObjectKB = maxObjectKB
        self.staleIfErrorSeconds = staleIfErrorSeconds
        self.staleWhileRevalidateSeconds = staleWhileRevalidateSeconds
        self.includeRegion = includeRegion
        self.query = query
    }

    /// No key set: the same as `"cache": true`.
    public var isEmpty: Bool { self == CacheSettingsOverride() }

    /// `base` with the keys set here replaced.
    public func applied(to base: CacheSettings) -> CacheSettings {
        var settings = base
        if let maxObjectKB { settings.maxObjectKB = maxObjectKB }
        if let staleIfErrorSeconds { settings.staleIfErrorSeconds = staleIfErrorSeconds }
        if let staleWhileRevalidateSeconds { settings.staleWhileRevalidateSeconds = staleWhileRevalidateSeconds }
        if let includeRegion { settings.includeRegion = includeRegion }
        if let query { settings.query = query }
        return settings
    }
}

extension CacheSettings {
    /// The settings for a request, or nil when the cache is off for it. Route over service over top
    /// level: a `false` turns the cache off; `true` or an object turns it on with the settings of the
    /// level below (the service's, else the top level's) and the object's keys over them — so a route's
    /// `true` turns it back on for a service whose `cache` is `false`, with the top level's settings.
    /// Without a top level (`top` nil) the cache is off whatever the overrides say (the loader refuses
    /// overrides then).
    public static func resolve(top: CacheSettings?, service: CacheOverride?, route: CacheOverride?) -> CacheSettings? {
        guard let top else { return nil }
        let belowRoute: CacheSettings?
        switch service {
        case nil: belowRoute = top
        case .off: belowRoute = nil
        case .on(let keys): belowRoute = keys.applied(to: top)
        }
        switch route {
        case nil: return belowRoute
        case .off: return nil
        case .on(let keys): return keys.applied(to: belowRoute ?? top)
        }
    }
}

extension GeoFrontConfig {
    /// The cache settings for a request served by route `route` (an index of `routes.routes`) and
    /// backend service `service` (a name of `routes.services`), or nil when the cache is off for it.
    /// Without routes, or for a request no route took, pass nil for both: the top-level `cache`.
    /// A route index or service name that is not in the file counts as not given.
    public func cacheSettings(route: Int?, service: String?) -> CacheSettings? {
        guard let cache else { return nil }
        let serviceOverride = service.flatMap { name in routes?.services.first { $0.name == name }?.cache }
        let routeOverride = route.flatMap { index -> CacheOverride? in
            guard let routes = routes?.routes, routes.indices.contains(index) else { return nil }
            return routes[index].cache
        }
        return CacheSettings.resolve(top: cache, service: serviceOverride, route: routeOverride)
    }

    /// ``cacheSettings(route:service:)`` for every route and backend, computed once.
    public var cachePlan: CachePlan { CachePlan(self) }
}

/// The cache settings of every (route, backend service) pair, precomputed from a configuration for
/// the request path: ``settings(route:backend:)`` is two array lookups.
public struct CachePlan: Sendable, Hashable {
    /// The top level's settings (requests without a route); nil: the cache is off.
    public let top: CacheSettings?
    /// Per route index, per backend index (the order of the route's `backends`).
    public let byRoute: [[CacheSettings?]]

    public init(_ config: GeoFrontConfig) {
        top = config.cache
        let routes = config.routes?.routes ?? []
        byRoute = routes.indices.map { index in
            routes[index].backends.map { config.cacheSettings(route: index, service: $0.service) }
        }
    }

    /// The settings for route index `route` and backend index `backend` of that route; the top
    /// level's without a route. Nil: the cache is off for the request.
    public func settings(route: Int?, backend: Int) -> CacheSettings? {
        guard let route else { return top }
        guard byRoute.indices.contains(route), byRoute[route].indices.contains(backend) else { return nil }
        return byRoute[route][backend]
    }

    /// True when some request may be cached: the top level is on and not every route and service is
    /// off.
    public var isEverOn: Bool {
        guard top != nil else { return false }
        if byRoute.isEmpty { return true }
        return byRoute.contains { $0.contains { $0 != nil } }
    }
}
