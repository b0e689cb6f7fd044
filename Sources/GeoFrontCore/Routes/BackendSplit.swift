import Foundation

/// Picks one of a route's backends: by weight for a request without a sticky key, by weighted
/// rendezvous hashing for one with a key.
///
/// Rendezvous: each backend `b` with weight `w > 0` draws `u_b` in (0, 1) from a 64-bit hash of
/// (key, backend name), and its exponential clock is `E_b = -ln(u_b) / w`; the backend with the
/// smallest clock (equivalently the largest `w / -ln(u_b)`) wins, which happens with probability
/// `w / Σw`. The split is monotonic: raising one backend's weight only shortens its own clock,
/// so keys only move to it; lowering it only moves keys away from it; the other backends' clocks
/// do not change, so they never trade keys among themselves. Each key's clocks depend only on
/// the key and the backend names, so the same key lands on the same backend on every process,
/// across reloads, and after runtime weight changes except as above.
public struct BackendSplit: Sendable, Hashable {
    /// The services, in the route's order.
    public let services: [String]
    /// Their weights, 0…1000.
    public let weights: [Int]
    /// Per backend: a hash of its service name, mixed with the key's hash.
    private let seeds: [UInt64]
    private let totalWeight: UInt64

    public init(_ backends: [RouteBackend]) {
        let services = backends.map(\.service)
        let weights = backends.map(\.weight)
        self.services = services
        self.weights = weights
        seeds = services.map { StickyHash.mix(StickyHash.fnv1a($0.utf8)) }
        totalWeight = UInt64(weights.reduce(0) { $0 + max(0, $1) })
    }

    /// The same backends with other weights (a runtime change or a rollback), in the same order.
    public func withWeights(_ newWeights: [Int]) -> BackendSplit {
        precondition(newWeights.count == services.count)
        return BackendSplit(zip(services, newWeights).map { RouteBackend(service: $0, weight: $1) })
    }

    /// By weight alone: `random` (uniform over UInt64) picks a point on the cumulative weights.
    /// Nil when every weight is 0.
    public func pick(random: UInt64) -> Int? {
        guard totalWeight > 0 else { return nil }
        var target = random.multipliedFullWidth(by: totalWeight).high
        for index in weights.indices where weights[index] > 0 {
            let weight = UInt64(weights[index])
            if target < weight { return index }
            target -= weight
        }
        return nil
    }

    /// By weighted rendezvous on a sticky key's hash (``StickyHash``). Nil when every weight is 0.
    public func pick(stickyHash key: UInt64) -> Int? {
        var best: Int?
        var bestClock = Double.infinity
        for index in weights.indices where weights[index] > 0 {
            let clock = -log(StickyHash.unitInterval(StickyHash.mix(key ^ seeds[index]))) / Double(weights[index])
            if clock < bestClock {
                bestClock = clock
                best = index
            }
        }
        return best
    }

    public static func == (lhs: BackendSplit, rhs: BackendSplit) -> Bool {
        lhs.services == rhs.services && lhs.weights == rhs.weights
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(services)
        hasher.combine(weights)
    }
}
