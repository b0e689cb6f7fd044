import GeoIP

/// What `affinity` made of a request: what its cookie says, whether the cookie's region answers,
/// and which region's cookie the response sets.
public struct AffinityOutcome: Sendable, Hashable {
    /// Why a valid cookie's region does not answer.
    public enum PassedOver: String, Sendable, Hashable {
        /// The region is unavailable (for the decision's service): the client moves.
        case unavailable
        /// The policy that applies to the client does not allow the region.
        case policyForbids = "policy_forbids"
        /// The decision's service does not run in the region.
        case notServed = "not_served"
        /// No region answers the request (no route: 404).
        case notRouted = "not_routed"
    }

    public let cookie: AffinityTable.Cookie
    /// The cookie's region answers (the decision's region reason is ``RegionChoice/Reason/affinity``).
    public let kept: Bool
    /// Why a valid cookie's region does not answer; nil when it does or the cookie is not valid.
    public let passedOver: PassedOver?
    /// The region (index in the file) whose cookie the response sets; nil: none (the client's is
    /// right already, or nothing answers with a region).
    public let setCookie: Int?
}

extension RoutingSnapshot {
    /// Applies `affinity` to a decision the rules made for `request`: when the request's cookie
    /// is valid and names a region where the decision's service is available and which the
    /// applicable policy allows, that region answers (with its true distance); otherwise the
    /// decision stands and the response is to set the cookie to its region. Nil (and no change)
    /// when the configuration has no `affinity`. No allocation.
    @inline(__always)
    public func applyAffinity(
        to decision: inout RoutingDecision, request: RouteRequest, in bytes: UnsafeRawBufferPointer
    ) -> AffinityOutcome? {
        guard let affinity else { return nil }
        let cookie = affinity.check(request, in: bytes)
        if decision.action == .notFound {
            let passed: AffinityOutcome.PassedOver? = if case .valid = cookie { .notRouted } else { nil }
            return AffinityOutcome(cookie: cookie, kept: false, passedOver: passed, setCookie: nil)
        }
        let chosen = regionOrdinals[decision.regionIndex]
        guard case .valid(let region) = cookie else {
            return AffinityOutcome(cookie: cookie, kept: false, passedOver: nil, setCookie: cookieToSet(decision))
        }
        let passedOver: AffinityOutcome.PassedOver
        if let entry = entry(ofRegion: region, service: decision.service) {
            if let policy = decision.policy, !policies.allows(policy, region: region) {
                passedOver = .policyForbids
            } else if !regions[entry].isAvailable {
                passedOver = .unavailable
            } else {
                if entry != decision.regionIndex || decision.reasons.region != .affinity {
                    decision = keep(decision, at: entry)
                }
                return AffinityOutcome(cookie: cookie, kept: true, passedOver: nil, setCookie: nil)
            }
        } else {
            passedOver = .notServed
        }
        let set = region == chosen ? nil : cookieToSet(decision)
        return AffinityOutcome(cookie: cookie, kept: false, passedOver: passedOver, setCookie: set)
    }

    /// The region whose cookie a decision's response sets: its own, unless nothing answers from
    /// it or every region is down (the client keeps its cookie for when they are back).
    @inline(__always)
    private func cookieToSet(_ decision: RoutingDecision) -> Int? {
        switch decision.action {
        case .redirect, .proxy:
            return decision.reasons.region == .allUnavailable ? nil : regionOrdinals[decision.regionIndex]
        case .unavailable, .notFound:
            return nil
        }
    }

    /// The entry of `service` in the region with index `region` in the file.
    @inline(__always)
    private func entry(ofRegion region: Int, service: Int) -> Int? {
        if service == 0 { return region < config.regions.count ? region : nil }
        for index in services[service].deployments where regionOrdinals[index] == region { return index }
        return nil
    }

    /// `decision` answered from `entry` instead, for affinity.
    private func keep(_ decision: RoutingDecision, at entry: Int) -> RoutingDecision {
        var reasons = RoutingDecision.Reasons(
            client: decision.reasons.client, lookup: decision.reasons.lookup, region: .affinity,
            route: decision.reasons.route)
        reasons.policy = decision.policy == nil ? .none : .applied
        let action = RoutingDecision.Action(regions[entry].config.mode)
        var kept = RoutingDecision(
            client: decision.client, coordinate: decision.coordinate, regionIndex: entry,
            distanceKm: decision.coordinate.map { GreatCircle.distanceKm($0, regions[entry].config.location) },
            action: action, reasons: reasons)
        kept.route = decision.route
        kept.backend = decision.backend
        kept.service = decision.service
        kept.policy = decision.policy
        return kept
    }
}
