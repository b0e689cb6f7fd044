/// Why a request got its route: every route of higher precedence that was tried, with the first
/// field it failed, then the route that matched (if any). Built only when asked
/// (``RouteTable/explain(_:in:)``), for `geofront route` and admin `/route`.
public struct RouteTableExplanation: Sendable, Hashable {
    public struct Attempt: Sendable, Hashable {
        /// Index into the table's routes.
        public let route: Int
        /// The host entry this attempt was made for; nil for a route without hosts.
        public let host: HostPattern?
        /// The field that failed; nil for the route that matched.
        public let mismatch: RouteMismatch?
    }

    /// In precedence order; the last one is the match when there is one.
    public let attempts: [Attempt]
    /// The route that matched; nil when none did.
    public let matched: Int?
    /// The route that takes the request: ``matched``, else the table's `default_route`; nil: 404.
    public let chosen: Int?

    /// The attempts that failed.
    public var failed: [Attempt] { attempts.filter { $0.mismatch != nil } }
}

extension RouteTable {
    /// Every route entry (one per host of each route) in the table's full precedence order:
    /// exact hosts (by name), wildcard hosts (longer suffix first), then routes without hosts.
    public var precedence: [(route: Int, host: HostPattern?)] {
        let exact = exactGroups.values.joined().sorted { $0.host.lexicographicallyPrecedes($1.host) }
        var entries: [(route: Int, host: HostPattern?)] = []
        for group in exact + wildcardGroups {
            for route in group.routes { entries.append((route: route, host: .some(group.pattern))) }
        }
        entries += anyHost.map { (route: $0, host: nil) }
        return entries
    }

    /// The same answer as ``match(_:in:)``, with every entry of higher precedence that was tried
    /// and the first field it failed (the host first, then path, method, headers, query).
    public func explain(_ request: RouteRequest, in bytes: UnsafeRawBufferPointer) -> RouteTableExplanation {
        var attempts: [RouteTableExplanation.Attempt] = []
        var matched: Int?
        for (route, host) in precedence {
            var mismatch: RouteMismatch?
            if let host, !hostMatches(host, request, bytes) {
                mismatch = .host
            } else {
                mismatch = matches[route].mismatch(request, bytes)
            }
            attempts.append(.init(route: route, host: host, mismatch: mismatch))
            if mismatch == nil {
                matched = route
                break
            }
        }
        return RouteTableExplanation(attempts: attempts, matched: matched, chosen: matched ?? defaultRoute)
    }

    /// ``explain(_:in:)`` for a request built from strings.
    public func explain(_ request: OwnedRouteRequest) -> RouteTableExplanation {
        request.withRequest { explain($0, in: $1) }
    }

    private func hostMatches(_ pattern: HostPattern, _ request: RouteRequest, _ bytes: UnsafeRawBufferPointer)
        -> Bool
    {
        guard let host = request.host else { return false }
        switch pattern {
        case .exact(let name): return Self.equalsLowercased(bytes, host, Array(name.utf8))
        case .wildcard(let suffix): return Self.hasSuffix(bytes, host, Array(suffix.utf8))
        }
    }
}
