import Foundation
import GeoIP

/// Why a client goes where it goes: what the database says, with routes the route, the routes of
/// higher precedence tried and the backend, how far every region of the service is, which one
/// was chosen and for what reason, and what the client gets. `geofront route` prints it and
/// admin `/route` answers its ``json``.
public struct RouteExplanation: Sendable {
    public struct Candidate: Sendable {
        public let region: String
        public let distanceKm: Double?
        public let isAvailable: Bool
        /// Why the region is unavailable ("drained", "3 failed checks, connection refused").
        public let unavailableReason: String?
        /// Fleet mode with a quorum: the fleet's health votes on the region's targets ("up: 1 of
        /// 3 instances see it down, quorum 0.66").
        public var healthVotes: String? = nil
    }

    public let ip: IPAddress
    /// The request asked about (`GET /` unless given).
    public let question: RouteQuestion
    public let location: GeoLocation?
    /// The region chosen; nil when no route takes the request (404).
    public let region: String?
    /// The decision itself, with its chain of reasons.
    public let decision: RoutingDecision
    /// Every region of the service, nearest first (file order when the client has no location);
    /// none when no route takes the request.
    public let candidates: [Candidate]
    public let defaultRegion: String
    /// The routes' part; nil when the configuration has no routes.
    public let routing: Routing?
    /// The service answering (nil: the regions' own, or no route).
    public let service: String?
    public let target: Target
    /// The traffic policy that applies to the client, when one does.
    public let policy: TrafficPolicy?
    /// What `affinity` made of the request's cookie; nil without `affinity`.
    public var affinity: AffinityOutcome? = nil
    /// `affinity`'s cookie name, the region a valid cookie names, and the value the response
    /// sets (nil: none).
    public var affinityCookie: (name: String, region: String?, setValue: String?)? = nil

    var policyRegions: String { policy?.regions.joined(separator: ", ") ?? "" }

    public var distanceKm: Double? { decision.distanceKm }
    public var reason: RegionChoice.Reason { decision.reasons.region }
    /// `when_all_down` is `unavailable` and every region is down: the client gets 503.
    public var refused: Bool { decision.action == .unavailable }

    /// A sentence for people.
    public var reasonText: String {
        if decision.action == .notFound {
            if let routing, routing.weightless, let route = routing.route {
                return "route \(route) has every backend at weight 0: 404"
            }
            return "no route matches and there is no default_route: 404"
        }
        switch reason {
        case .nearest:
            return "nearest region to \(placeText)"
        case .nearestAvailable:
            let skipped = candidates.prefix { $0.region != region }.filter { !$0.isAvailable }
            return "nearest available region to \(placeText); " + skipped.map(skippedText).joined(separator: "; ")
        case .noLocation where region != defaultRegion:
            return
                "\(noLocationText); the service does not run in default_region \(defaultRegion): nearest region to it"
        case .noLocation:
            return "\(noLocationText); default_region \(defaultRegion)"
        case .noLocationDefaultUnavailable:
            let reason = candidates.first { $0.region == defaultRegion }?.unavailableReason ?? "unavailable"
            return "\(noLocationText); default_region \(defaultRegion) skipped (\(reason)), nearest available to it"
        case .affinity:
            return "affinity: \(region ?? "?") (valid cookie), available and allowed"
        case .policyRefused:
            let name = policy?.name ?? "?"
            return "strict policy \(name): none of its regions (\(policyRegions)) is available: 503"
        case .allUnavailable:
            if refused { return "no region is available; when_all_down is unavailable: 503" }
            if location?.coordinate == nil {
                return
                    "\(noLocationText) and no region is available; default_region \(defaultRegion) anyway (when_all_down: nearest, fail open)"
            }
            return "no region is available; nearest region anyway (when_all_down: nearest, fail open)"
        }
    }

    private func skippedText(_ candidate: Candidate) -> String {
        "\(candidate.region) skipped: \(candidate.unavailableReason ?? "unavailable")"
    }

    private var placeText: String {
        guard let location, let coordinate = location.coordinate else { return "the client" }
        let country = location.country.map { " (\($0))" } ?? ""
        let centroid = location.coordinateSource == .countryCentroid ? ", country centroid" : ""
        return String(format: "%.4f, %.4f", coordinate.latitude, coordinate.longitude) + country + centroid
    }

    private var noLocationText: String {
        guard let location else { return "address not in the database" }
        if let country = location.country { return "record for \(country) has no coordinates and no centroid" }
        return "record has no coordinates or country"
    }

    /// One JSON object (a line of `geofront route --json`).
    public var json: String {
        var fields: [(String, String)] = [
            ("ip", JSONText.string(ip.description)),
            ("region", region.map { JSONText.string($0) } ?? "null"),
            ("distance_km", distanceKm.map(number) ?? "null"),
        ]
        if let location {
            var inner: [(String, String)] = []
            inner.append(("latitude", location.coordinate.map { "\($0.latitude)" } ?? "null"))
            inner.append(("longitude", location.coordinate.map { "\($0.longitude)" } ?? "null"))
            inner.append(("accuracy_radius_km", location.accuracyRadiusKm.map { String($0) } ?? "null"))
            inner.append(("country", location.country.map { JSONText.string($0.description) } ?? "null"))
            inner.append(("continent", location.continent.map { JSONText.string($0.description) } ?? "null"))
            inner.append(("network", JSONText.string(location.network.description)))
            inner.append(("source", location.coordinateSource.map { JSONText.string($0.rawValue) } ?? "null"))
            fields.append(("location", JSONText.object(inner)))
        } else {
            fields.append(("location", "null"))
        }
        fields.append(("reason", JSONText.string(reason.rawValue)))
        fields.append(("action", JSONText.string(decision.action.rawValue)))
        fields.append(
            (
                "reasons",
                JSONText.object([
                    ("client", JSONText.string(decision.reasons.client.rawValue)),
                    ("lookup", JSONText.string(decision.reasons.lookup.rawValue)),
                    ("region", JSONText.string(decision.reasons.region.rawValue)),
                    ("policy", JSONText.string(decision.reasons.policy.rawValue)),
                ])
            ))
        if let policy {
            fields.append(
                (
                    "policy",
                    JSONText.object([
                        ("name", JSONText.string(policy.name)), ("strict", "\(policy.strict)"),
                        ("regions", "[" + policy.regions.map { JSONText.string($0) }.joined(separator: ",") + "]"),
                    ])
                ))
        } else {
            fields.append(("policy", "null"))
        }
        if refused { fields.append(("status", "503")) }
        if decision.action == .notFound { fields.append(("status", "404")) }
        fields.append(("explanation", JSONText.string(reasonText)))
        let list = candidates.map { candidate in
            JSONText.object([
                ("region", JSONText.string(candidate.region)),
                ("distance_km", candidate.distanceKm.map(number) ?? "null"),
                ("available", candidate.isAvailable ? "true" : "false"),
                ("unavailable_reason", candidate.unavailableReason.map { JSONText.string($0) } ?? "null"),
                ("health_votes", candidate.healthVotes.map { JSONText.string($0) } ?? "null"),
            ])
        }
        fields.append(("candidates", "[" + list.joined(separator: ",") + "]"))
        if let affinityJSON { fields.append(("affinity", affinityJSON)) }
        return JSONText.object(fields + routingFields)
    }

    /// Distances in kilometres, to the metre.
    private func number(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? String(format: "%.1f", rounded) : String(rounded)
    }

}

extension RoutingSnapshot {
    /// The full story of routing `ip` with `question`: the request path's own decision
    /// (``decide(address:)`` without routes, ``decide(client:request:random:)`` with
    /// ``RouteExplanation/draw`` with them), with the database record, the routes tried and
    /// every region of the service with its distance beside it.
    public func explain(_ ip: IPAddress, question: RouteQuestion = .root) -> RouteExplanation {
        var decision =
            routes == nil
            ? decide(address: ip)
            : decide(
                client: ClientIP(address: ip.unmapped, source: .peer), request: question.request,
                random: RouteExplanation.draw)
        let affinity = question.request.withRequest { applyAffinity(to: &decision, request: $0, in: $1) }
        let location = database.lookup(ip)
        let served = decision.action == .notFound ? 0..<0 : services[decision.service].deployments
        var candidates = served.map { index in
            RouteExplanation.Candidate(
                region: regions[index].name,
                distanceKm: location?.coordinate.map { GreatCircle.distanceKm($0, regions[index].config.location) },
                isAvailable: regions[index].isAvailable, unavailableReason: statuses[index].unavailableReason,
                healthVotes: statuses[index].healthVotes)
        }
        if location?.coordinate != nil {
            // Stable sort keeps file order for equal distances, matching the selector's tie rule.
            candidates = candidates.enumerated().sorted {
                ($0.element.distanceKm!, $0.offset) < ($1.element.distanceKm!, $1.offset)
            }.map(\.element)
        }
        var explanation = RouteExplanation(
            ip: ip, question: question, location: location,
            region: decision.action == .notFound ? nil : regions[decision.regionIndex].name, decision: decision,
            candidates: candidates, defaultRegion: config.defaultRegion, routing: routing(question, decision),
            service: decision.action == .notFound ? nil : services[decision.service].name,
            target: target(question, decision),
            policy: decision.policy.map { policies.policies[$0] })
        if let affinity, let table = self.affinity {
            explanation.affinity = affinity
            var named: String?
            if case .valid(let region) = affinity.cookie { named = config.regions[region].name }
            explanation.affinityCookie = (
                table.settings.cookie, named, affinity.setCookie.map(table.value(region:))
            )
        }
        return explanation
    }
}
