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
        /// The regions' load against their `capacity` (by region ordinal), and the current
        /// second; nil: no capacity is set.
        public var load: RegionLoad?
        public var second = 0

        public init(
            policy: Int?, policies: PolicyTable, ordinals: [Int], bias: [Double]?, load: RegionLoad? = nil,
            second: Int = 0
        ) {
            self.policy = policy
            self.policies = policies
            self.ordinals = ordinals
            self.bias = bias
            self.load = load
            self.second = second
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
                location, regions, range, defaultIndex.flatMap { allows($0) ? $0 : nil }, defaultPoint, allows, rules)
            if let choice, choice.reason != .allUnavailable { return (choice, .applied) }
            if policies.policies[policy].strict {
                let index = choice?.regionIndex ?? defaultIndex ?? range.lowerBound
                return (
                    RegionChoice(regionIndex: index, distanceKm: choice?.distanceKm, reason: .policyRefused), .refused
                )
            }
            let global = choose(location, regions, range, defaultIndex, defaultPoint, { _ in true }, rules)!
            return (global, .fellBack)
        }
        return (choose(location, regions, range, defaultIndex, defaultPoint, { _ in true }, rules)!, .none)
    }

    /// The choice among the entries of `range` that `eligible` takes; nil when it takes none. An
    /// available region at its capacity passes the request to the next choice that has room; when
    /// none has, the first choice takes it anyway (capacity steers, it never refuses).
    @inline(__always)
    private static func choose(
        _ location: Coordinate?, _ regions: borrowing [RegionEntry], _ range: Range<Int>, _ defaultIndex: Int?,
        _ defaultPoint: GreatCircle.Point, _ eligible: (Int) -> Bool, _ rules: Rules
    ) -> RegionChoice? {
        let load = rules.load
        let ordinals = rules.ordinals
        let second = rules.second
        let hasRoom = { (index: Int) in load.map { !$0.isFull(ordinals[index], second: second) } ?? true }
        guard let location else {
            if let defaultIndex, regions[defaultIndex].isAvailable, hasRoom(defaultIndex) {
                return RegionChoice(regionIndex: defaultIndex, distanceKm: nil, reason: .noLocation)
            }
            // Clients without a location: the default region's place decides, without bias.
            let fallback = nearest(to: defaultPoint, regions, range, eligible, nil, hasRoom)
            guard let any = fallback.any else { return nil }
            if let defaultIndex, regions[defaultIndex].isAvailable {
                // The default region is full: the available region with room nearest to it.
                var choice = RegionChoice(
                    regionIndex: fallback.roomy ?? defaultIndex, distanceKm: nil, reason: .noLocation)
                if let roomy = fallback.roomy, roomy != defaultIndex { choice.spilledFrom = defaultIndex }
                return choice
            }
            if let available = fallback.available {
                var choice = RegionChoice(
                    regionIndex: fallback.roomy ?? available, distanceKm: nil,
                    reason: defaultIndex == nil ? .noLocation : .noLocationDefaultUnavailable)
                if let roomy = fallback.roomy, roomy != available { choice.spilledFrom = available }
                return choice
            }
            return RegionChoice(regionIndex: defaultIndex ?? any, distanceKm: nil, reason: .allUnavailable)
        }
        let point = GreatCircle.Point(location)
        let found = nearest(to: point, regions, range, eligible, rules.bias, hasRoom)
        guard let any = found.any else { return nil }
        if let available = found.available {
            let pick = found.roomy ?? available
            var choice = RegionChoice(
                regionIndex: pick,
                distanceKm: pick == available
                    ? found.availableKm
                    : GreatCircle.kilometres(haversine: GreatCircle.haversine(point, regions[pick].point)),
                reason: pick == any ? .nearest : .nearestAvailable)
            if pick != available { choice.spilledFrom = available }
            return choice
        }
        return RegionChoice(regionIndex: any, distanceKm: found.anyKm, reason: .allUnavailable)
    }

    /// The nearest eligible entry, the nearest eligible available one and the nearest eligible
    /// available one with room (`hasRoom`), by (biased) distance; the first two with their true
    /// distances.
    @inline(__always)
    private static func nearest(
        to point: GreatCircle.Point, _ regions: borrowing [RegionEntry], _ range: Range<Int>,
        _ eligible: (Int) -> Bool, _ bias: [Double]?, _ hasRoom: (Int) -> Bool
    ) -> (any: Int?, anyKm: Double, available: Int?, availableKm: Double, roomy: Int?) {
        var any: Int?
        var anyScore = Double.infinity
        var anyKm = Double.infinity
        var available: Int?
        var availableScore = Double.infinity
        var availableKm = Double.infinity
        var roomy: Int?
        var roomyScore = Double.infinity
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
            if score < roomyScore && regions[index].isAvailable && hasRoom(index) {
                roomy = index
                roomyScore = score
            }
        }
        // The true distances of the winners only.
        if let any { anyKm = GreatCircle.kilometres(haversine: GreatCircle.haversine(point, regions[any].point)) }
        if let available {
            availableKm =
                available == any
                ? anyKm : GreatCircle.kilometres(haversine: GreatCircle.haversine(point, regions[available].point))
        }
        return (any, anyKm, available, availableKm, roomy)
    }
}
