import Foundation
import GeoIP

extension RegionSelector {
    /// What the traffic rules of a decision are: the policy that applies (its allowed regions and
    /// whether it is strict) and the regions' biases.
    public struct Rules {
        /// The policy that applies (index into `policies`); nil: none.
        public var policy: Int?
        /// The policies, and per entry of the snapshot's regions its region's index in the file
        /// (what a policy's regions are given by).
        public var policies: PolicyTable
        public var ordinals: [Int]
        /// Per entry: the factor its distance is multiplied by (`1 − bias/100`); nil: no bias.
        public var bias: [Double]?

        public init(policy: Int?, policies: PolicyTable, ordinals: [Int], bias: [Double]?) {
            self.policy = policy
            self.policies = policies
            self.ordinals = ordinals
            self.bias = bias
        }
    }

    /// How a policy shaped the choice.
    public enum PolicyOutcome: String, Sendable, Hashable {
        /// No policy applies to the client.
        case none
        /// The choice is among the policy's regions.
        case applied
        /// None of the policy's regions is available and it is not strict: the global rule chose.
        case fellBack = "fell_back"
        /// None of the strict policy's regions is available: 503.
        case refused
    }

    /// ``select(for:regions:in:defaultIndex:defaultPoint:)`` under `rules`: among the entries the
    /// policy allows (all without one), by biased distance (`d × (1 − bias/100)`) when there are
    /// biases. The reported distance is the true one. No allocation.
    public static func select(
        for location: Coordinate?, regions: borrowing [RegionEntry], in range: Range<Int>, defaultIndex: Int?,
        defaultPoint: GreatCircle.Point, rules: Rules
    ) -> (choice: RegionChoice, policy: PolicyOutcome) {
        if let policy = rules.policy {
            let policies = rules.policies
            let ordinals = rules.ordinals
            let allows = { (index: Int) in policies.allows(policy, region: ordinals[index]) }
            let choice = choose(
                location, regions, range, defaultIndex.flatMap { allows($0) ? $0 : nil }, defaultPoint, allows,
                rules.bias)
            if let choice, choice.reason != .allUnavailable { return (choice, .applied) }
            if policies.policies[policy].strict {
                let index = choice?.regionIndex ?? defaultIndex ?? range.lowerBound
                return (
                    RegionChoice(regionIndex: index, distanceKm: choice?.distanceKm, reason: .policyRefused), .refused
                )
            }
            let global = choose(location, regions, range, defaultIndex, defaultPoint, { _ in true }, rules.bias)!
            return (global, .fellBack)
        }
        return (choose(location, regions, range, defaultIndex, defaultPoint, { _ in true }, rules.bias)!, .none)
    }

    /// The choice among the entries of `range` that `eligible` takes; nil when it takes none.
    @inline(__always)
    private static func choose(
        _ location: Coordinate?, _ regions: borrowing [RegionEntry], _ range: Range<Int>, _ defaultIndex: Int?,
        _ defaultPoint: GreatCircle.Point, _ eligible: (Int) -> Bool, _ bias: [Double]?
    ) -> RegionChoice? {
        guard let location else {
            if let defaultIndex, regions[defaultIndex].isAvailable {
                return RegionChoice(regionIndex: defaultIndex, distanceKm: nil, reason: .noLocation)
            }
            // Clients without a location: the default region's place decides, without bias.
            let fallback = nearest(to: defaultPoint, regions, range, eligible, nil)
            guard let any = fallback.any else { return nil }
            if let available = fallback.available {
                return RegionChoice(
                    regionIndex: available, distanceKm: nil,
                    reason: defaultIndex == nil ? .noLocation : .noLocationDefaultUnavailable)
            }
            return RegionChoice(regionIndex: defaultIndex ?? any, distanceKm: nil, reason: .allUnavailable)
        }
        let found = nearest(to: GreatCircle.Point(location), regions, range, eligible, bias)
        guard let any = found.any else { return nil }
        if let available = found.available {
            return RegionChoice(
                regionIndex: available, distanceKm: found.availableKm,
                reason: available == any ? .nearest : .nearestAvailable)
        }
        return RegionChoice(regionIndex: any, distanceKm: found.anyKm, reason: .allUnavailable)
    }

    /// The nearest eligible entry and the nearest eligible available one, by (biased) distance;
    /// with their true distances.
    @inline(__always)
    private static func nearest(
        to point: GreatCircle.Point, _ regions: borrowing [RegionEntry], _ range: Range<Int>,
        _ eligible: (Int) -> Bool, _ bias: [Double]?
    ) -> (any: Int?, anyKm: Double, available: Int?, availableKm: Double) {
        var any: Int?
        var anyScore = Double.infinity
        var anyKm = Double.infinity
        var available: Int?
        var availableScore = Double.infinity
        var availableKm = Double.infinity
        var index = range.lowerBound
        while index < range.upperBound {
            defer { index += 1 }
            guard eligible(index) else { continue }
            // Without bias, the largest dot product of unit vectors is the nearest; with one, the
            // central angle (proportional to the distance) times the region's factor.
            let closeness = GreatCircle.closeness(point, regions[index].point)
            let score = bias.map { acos(min(1, max(-1, closeness))) * $0[index] } ?? -closeness
            if score < anyScore {
                any = index
                anyScore = score
            }
            if score < availableScore && regions[index].isAvailable {
                available = index
                availableScore = score
            }
        }
        // The true distances of the winners only.
        if let any { anyKm = GreatCircle.kilometres(haversine: GreatCircle.haversine(point, regions[any].point)) }
        if let available {
            availableKm =
                available == any
                ? anyKm : GreatCircle.kilometres(haversine: GreatCircle.haversine(point, regions[available].point))
        }
        return (any, anyKm, available, availableKm)
    }
}
