import GeoIP

/// What the request path does with one request, and why: the one routing decision.
///
/// Made by ``RoutingSnapshot/decide(client:)``: every front end calls it with the client address
/// `ClientIPResolver` worked out (after `rate_limit`), and `geofront route`, admin `/route` and
/// the simulator through ``RoutingSnapshot/decide(address:)``. The steps: client address → GeoIP
/// lookup → nearest available region → that region's answer. A plain value of enums and
/// numbers: deciding allocates nothing.
///
/// Later steps of the decision (routes, splits, policies) extend this type and ``Reasons``;
/// the front ends only carry out ``action``.
public struct RoutingDecision: Sendable, Hashable {
    /// What the front end does.
    public enum Action: String, Sendable, Hashable {
        /// Answer with `redirect.status` and `Location` = the region's `redirect_url` + the
        /// request's path and query.
        case redirect
        /// Send the request to one of the region's upstreams (the exchange picks which).
        case proxy
        /// 503 with `Retry-After`: no region is available and `when_all_down` is `unavailable`.
        case unavailable
        /// 404: the configuration has routes, none matches and there is no `default_route`.
        case notFound = "not_found"

        /// How a region in `mode` answers.
        @inline(__always)
        public init(_ mode: RoutingMode) {
            switch mode {
            case .redirect: self = .redirect
            case .proxy: self = .proxy
            }
        }
    }

    /// How the route was found.
    public enum RouteReason: String, Sendable, Hashable {
        /// The configuration has no routes: the regions' own upstreams answer.
        case noRoutes = "no_routes"
        /// A route matched.
        case matched
        /// No route matched; `default_route` takes the request.
        case defaultRoute = "default_route"
        /// No route matched and there is no `default_route`.
        case noMatch = "no_match"
    }

    /// How the GeoIP lookup went.
    public enum Lookup: String, Sendable, Hashable {
        /// The record has coordinates.
        case located
        /// The record has a country but no coordinates: the country's centroid is used.
        case countryCentroid = "country_centroid"
        /// The record has neither coordinates nor a country with a known centroid.
        case foundWithoutLocation = "found_without_location"
        /// No record for the address.
        case notFound = "not_found"
        /// No lookup was made: no route took the request (404).
        case skipped

        /// Whether the address has a record.
        public var found: Bool { self != .notFound && self != .skipped }
    }

    /// The chain of reasons behind the decision, one per step, in the order they were taken.
    public struct Reasons: Sendable, Hashable {
        /// Where the client address came from (the peer, or a forwarding header of a trusted
        /// proxy).
        public let client: ClientIP.Source
        /// What the database said.
        public let lookup: Lookup
        /// Why this region.
        public let region: RegionChoice.Reason
        /// How the route was found.
        public let route: RouteReason
        /// How a traffic policy shaped the choice.
        public var policy: RegionSelector.PolicyOutcome = .none

        public init(
            client: ClientIP.Source, lookup: Lookup, region: RegionChoice.Reason, route: RouteReason = .noRoutes
        ) {
            self.client = client
            self.lookup = lookup
            self.region = region
            self.route = route
        }
    }

    /// The address the request is routed by.
    public let client: IPAddress
    /// The client's coordinate (record or country centroid), when it has one: retries to other
    /// regions go by it.
    public let coordinate: Coordinate?
    /// Index into the snapshot's `regions`: the region chosen (for ``Action/unavailable``, the
    /// region that would have answered).
    public let regionIndex: Int
    /// Great-circle distance from the client to the region, when the client has a location.
    public let distanceKm: Double?
    public let action: Action
    public let reasons: Reasons
    /// The route taken (index into the snapshot's `routes`), when there are routes and one took
    /// the request.
    public var route: Int? = nil
    /// The route's backend chosen, with its sticky hash and a sticky cookie to set.
    public var backend: RouteTable.BackendChoice? = nil
    /// The service answering (index into the snapshot's `services`; 0: the regions' own).
    public var service: Int = 0
    /// The traffic policy that applies (index into the snapshot's `policies`), when one does.
    public var policy: Int? = nil
    /// The region (index into the snapshot's `regions`) that would have answered but was at its
    /// `capacity`: the request spilled from there to ``regionIndex``.
    public var spilledFrom: Int? = nil

    public var choice: RegionChoice {
        RegionChoice(regionIndex: regionIndex, distanceKm: distanceKm, reason: reasons.region)
    }
}

extension RoutingSnapshot {
    /// The decision for a client address as it is (no forwarding headers): what `geofront
    /// route`, admin `/route` and the simulator ask.
    public func decide(address: IPAddress) -> RoutingDecision {
        decide(client: ClientIP(address: address.unmapped, source: .peer))
    }

    /// Where every decision ends: lookup, region, action.
    @inline(__always)
    public func decide(client: ClientIP) -> RoutingDecision {
        if hasRules {
            let (lookup, coordinate, facts) = database.locateWithFactsForRouting(
                client.address, asn: policies.needsASN)
            return decide(client: client, lookup: lookup, coordinate: coordinate, facts: facts, service: 0)
        }
        let (lookup, coordinate) = database.locateForRouting(client.address)
        return decide(client: client, lookup: lookup, coordinate: coordinate, service: 0, route: .noRoutes)
    }

    /// The same decision, with the lookup answered from an event loop's ``LookupCache`` when it
    /// can be (the front end's call when there are no routes).
    @inline(__always)
    public func decide(client: ClientIP, cache: inout LookupCache) -> RoutingDecision {
        if hasRules { return decideWithRules(client: client, cache: &cache, service: 0, route: .noRoutes) }
        let (lookup, coordinate) = cache.locate(client.address, in: database)
        return decide(client: client, lookup: lookup, coordinate: coordinate, service: 0, route: .noRoutes)
    }

    /// The lookup with the policy facts (from the cache), then the decision under the rules.
    @inline(__always)
    private func decideWithRules(
        client: ClientIP, cache: inout LookupCache, service: Int, route: RoutingDecision.RouteReason
    ) -> RoutingDecision {
        let (lookup, coordinate, facts) = cache.locateWithFacts(client.address, in: database, asn: policies.needsASN)
        return decide(
            client: client, lookup: lookup, coordinate: coordinate, facts: facts, service: service, route: route)
    }

    /// The decision under the traffic rules: the first policy that matches the client limits the
    /// candidates to its regions (strict: 503 when none is available; else the global rule),
    /// and distances are biased.
    private func decide(
        client: ClientIP, lookup: RoutingDecision.Lookup, coordinate: Coordinate?, facts: GeoIPDatabase.PolicyFacts,
        service: Int, route: RoutingDecision.RouteReason = .noRoutes
    ) -> RoutingDecision {
        let entry = services[service]
        let policy = policies.isEmpty ? nil : policies.policy(for: client.address, facts: facts)
        let rules = RegionSelector.Rules(
            policy: policy, policies: policies, ordinals: regionOrdinals, bias: biasFactors, load: regionLoad,
            second: regionLoad == nil ? 0 : RegionLoad.currentSecond)
        let (choice, outcome) = RegionSelector.select(
            for: coordinate, regions: regions, in: entry.deployments, defaultIndex: entry.defaultIndex,
            defaultPoint: regions[defaultRegionIndex].point, rules: rules)
        var decision = decision(
            choice, client: client, lookup: lookup, coordinate: coordinate, service: service, route: route,
            policy: outcome)
        decision.policy = policy
        return decision
    }

    /// The decision for a request when the configuration has ``routes``: route (by host, path,
    /// method, headers, query; else `default_route`; else 404) → backend (sticky key, else by
    /// weight with `random`) → the nearest available region where that backend's service runs.
    /// Without routes, the same as ``decide(client:cache:)``.
    @inline(__always)
    public func decide(
        client: ClientIP, request: RouteRequest, in bytes: UnsafeRawBufferPointer, random: UInt64,
        cache: inout LookupCache
    ) -> RoutingDecision {
        guard let routes else { return decide(client: client, cache: &cache) }
        var reason = RoutingDecision.RouteReason.matched
        var route = routes.match(request, in: bytes)
        if route == nil {
            route = routes.defaultRoute
            reason = route == nil ? .noMatch : .defaultRoute
        }
        guard let route else { return notFound(client: client) }
        guard
            let backend = routes.backend(
                route: route, request: request, in: bytes, client: client.address, random: random)
        else { return notFound(client: client) }
        let service = backendServices[route][backend.backend]
        var decision: RoutingDecision
        if hasRules {
            decision = decideWithRules(client: client, cache: &cache, service: service, route: reason)
        } else {
            let (lookup, coordinate) = cache.locate(client.address, in: database)
            decision = decide(client: client, lookup: lookup, coordinate: coordinate, service: service, route: reason)
        }
        decision.route = route
        decision.backend = backend
        return decision
    }

    /// ``decide(client:request:in:random:cache:)`` for a request built from strings (the CLI,
    /// admin `/route`), with no lookup cache.
    public func decide(client: ClientIP, request: OwnedRouteRequest, random: UInt64) -> RoutingDecision {
        var cache = LookupCache(capacity: 1)
        return request.withRequest { decide(client: client, request: $0, in: $1, random: random, cache: &cache) }
    }

    private func notFound(client: ClientIP) -> RoutingDecision {
        RoutingDecision(
            client: client.address, coordinate: nil, regionIndex: 0, distanceKm: nil, action: .notFound,
            reasons: RoutingDecision.Reasons(
                client: client.source, lookup: .skipped, region: .noLocation, route: .noMatch))
    }

    @inline(__always)
    private func decide(
        client: ClientIP, lookup: RoutingDecision.Lookup, coordinate: Coordinate?, service: Int,
        route: RoutingDecision.RouteReason
    ) -> RoutingDecision {
        let entry = services[service]
        let choice = RegionSelector.select(
            for: coordinate, regions: regions, in: entry.deployments, defaultIndex: entry.defaultIndex,
            defaultPoint: regions[defaultRegionIndex].point)
        return decision(choice, client: client, lookup: lookup, coordinate: coordinate, service: service, route: route)
    }

    /// The decision for a region chosen: its action (503 when a strict policy refused or when
    /// every region is down and `when_all_down` is `unavailable`, else the region's mode) and
    /// the chain of reasons.
    @inline(__always)
    private func decision(
        _ choice: RegionChoice, client: ClientIP, lookup: RoutingDecision.Lookup, coordinate: Coordinate?,
        service: Int, route: RoutingDecision.RouteReason, policy: RegionSelector.PolicyOutcome = .none
    ) -> RoutingDecision {
        let action =
            policy == .refused || (choice.reason == .allUnavailable && config.whenAllDown == .unavailable)
            ? RoutingDecision.Action.unavailable : RoutingDecision.Action(regions[choice.regionIndex].config.mode)
        var reasons = RoutingDecision.Reasons(
            client: client.source, lookup: lookup, region: choice.reason, route: route)
        reasons.policy = policy
        var decision = RoutingDecision(
            client: client.address, coordinate: coordinate, regionIndex: choice.regionIndex,
            distanceKm: choice.distanceKm, action: action, reasons: reasons)
        decision.service = service
        decision.spilledFrom = choice.spilledFrom
        return decision
    }

    /// The region a proxied request tries next when `regionIndex` (and every region in
    /// `tried`, a bit per region index below 64) has no upstream left: the available proxy region
    /// with upstreams nearest to the client (to the current region when the client has no
    /// location), among the regions of `service`. Nil when there is none.
    public func nextProxyRegion(after regionIndex: Int, tried: UInt64, coordinate: Coordinate?, service: Int = 0)
        -> Int?
    {
        var best: Int?
        var bestDistance = Double.infinity
        let origin = coordinate.map(GreatCircle.Point.init) ?? regions[regionIndex].point
        let range = services[service].deployments
        for index in range where index - range.lowerBound >= 64 || tried & (1 << UInt64(index - range.lowerBound)) == 0
        {
            let region = regions[index]
            guard region.isAvailable, region.config.mode == .proxy, !region.config.upstreams.isEmpty else { continue }
            let distance = GreatCircle.haversine(origin, region.point)
            if distance < bestDistance {
                bestDistance = distance
                best = index
            }
        }
        return best
    }
}
extension GeoIPDatabase {
    /// ``locateWithFacts(_:asn:)`` with the lookup's outcome spelled out.
    @inline(__always)
    func locateWithFactsForRouting(_ address: IPAddress, asn: Bool) -> (
        RoutingDecision.Lookup, Coordinate?, PolicyFacts
    ) {
        let (location, facts) = locateWithFacts(address, asn: asn)
        switch location {
        case .notFound: return (.notFound, nil, facts)
        case .record(let coordinate): return (.located, coordinate, facts)
        case .centroid(let coordinate): return (.countryCentroid, coordinate, facts)
        case .noLocation: return (.foundWithoutLocation, nil, facts)
        }
    }

    /// ``locateWithSource(_:)`` with the lookup's outcome spelled out for the decision's reasons.
    @inline(__always)
    func locateForRouting(_ address: IPAddress) -> (RoutingDecision.Lookup, Coordinate?) {
        switch locateWithSource(address) {
        case .notFound: return (.notFound, nil)
        case .record(let coordinate): return (.located, coordinate)
        case .centroid(let coordinate): return (.countryCentroid, coordinate)
        case .noLocation: return (.foundWithoutLocation, nil)
        }
    }
}
