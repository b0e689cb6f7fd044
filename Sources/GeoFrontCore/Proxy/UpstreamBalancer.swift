/// Picks an upstream inside a region. One balancer per region per event loop, so picking takes
/// no lock; it reads availability from the snapshot and counts its own requests in flight.
///
/// - `round_robin`: smooth weighted round-robin (nginx's): over time each upstream gets its
///   weight's share, interleaved rather than in bursts.
/// - `least_requests`: power of two choices: two weighted-random picks, the one with fewer
///   requests in flight wins (Envoy's default).
public struct UpstreamBalancer: Sendable {
    public let policy: LoadBalancing
    public let weights: [Int]
    private var current: [Int]
    public private(set) var inFlight: [Int]
    private var random = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))

    public init(policy: LoadBalancing, weights: [Int]) {
        self.policy = policy
        self.weights = weights
        current = Array(repeating: 0, count: weights.count)
        inFlight = Array(repeating: 0, count: weights.count)
    }

    /// An upstream index that is available and not in `excluded` (a bit set of indices), or nil.
    public mutating func pick(available: [Bool], excluded: UInt64 = 0) -> Int? {
        switch policy {
        case .roundRobin: return pickRoundRobin(available: available, excluded: excluded)
        case .leastRequests: return pickLeastRequests(available: available, excluded: excluded)
        }
    }

    public mutating func started(_ index: Int) { inFlight[index] += 1 }
    public mutating func finished(_ index: Int) { inFlight[index] = max(0, inFlight[index] - 1) }

    @inline(__always)
    private static func usable(_ index: Int, _ available: [Bool], _ excluded: UInt64) -> Bool {
        available[index] && (index >= 64 || excluded & (1 << UInt64(index)) == 0)
    }

    private mutating func pickRoundRobin(available: [Bool], excluded: UInt64) -> Int? {
        var total = 0
        var best: Int?
        for index in weights.indices where Self.usable(index, available, excluded) {
            current[index] += weights[index]
            total += weights[index]
            if best == nil || current[index] > current[best!] { best = index }
        }
        guard let best else { return nil }
        current[best] -= total
        return best
    }

    private mutating func pickLeastRequests(available: [Bool], excluded: UInt64) -> Int? {
        var total = 0
        var count = 0
        for index in weights.indices where Self.usable(index, available, excluded) {
            total += weights[index]
            count += 1
        }
        guard count > 0 else { return nil }
        let first = weightedRandom(total: total, available: available, excluded: excluded)
        if count == 1 { return first }
        var second = first
        for _ in 0..<4 where second == first {
            second = weightedRandom(total: total, available: available, excluded: excluded)
        }
        if second == first { return first }
        if inFlight[second] != inFlight[first] { return inFlight[second] < inFlight[first] ? second : first }
        return first
    }

    private mutating func weightedRandom(total: Int, available: [Bool], excluded: UInt64) -> Int {
        var ticket = Int(random.next() % UInt64(total))
        for index in weights.indices where Self.usable(index, available, excluded) {
            if ticket < weights[index] { return index }
            ticket -= weights[index]
        }
        preconditionFailure("weights changed during a pick")
    }
}

/// A small, fast pseudo-random generator (SplitMix64); load balancing needs spread, not secrecy.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
