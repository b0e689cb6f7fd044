/// A region's standing as the selector sees it: drained or not, and how many of its checked
/// targets are healthy. Written by health checks and drains, read through a snapshot.
public struct RegionStatus: Sendable, Hashable {
    public var drained: Bool
    /// Targets counted for availability: actively checked targets, or a proxy region's upstreams
    /// (0: the region is not checked and counts as healthy).
    public var checkedTargets: Int
    public var healthyTargets: Int
    public var minHealthy: Int
    /// Why the region is (partly) unavailable, for explanations ("3 failed checks, connection refused").
    public var detail: String?
    /// Per upstream, in config order: may it receive proxied requests (healthy and not ejected)?
    public var upstreamAvailable: [Bool]
    /// Fleet mode with a quorum: what the fleet's health votes say of the region's targets
    /// ("up: 1 of 3 instances see it down, quorum 0.66"), whether or not the region is available.
    public var healthVotes: String?

    public init(
        drained: Bool = false, checkedTargets: Int = 0, healthyTargets: Int = 0, minHealthy: Int = 1,
        detail: String? = nil, upstreamAvailable: [Bool] = [], healthVotes: String? = nil
    ) {
        self.drained = drained
        self.checkedTargets = checkedTargets
        self.healthyTargets = healthyTargets
        self.minHealthy = minHealthy
        self.detail = detail
        self.upstreamAvailable = upstreamAvailable
        self.healthVotes = healthVotes
    }

    /// The status of a region before any check has run: healthy (fail-open), unless drained.
    public init(initialFor region: RegionConfig) {
        self = HealthMonitor(regions: [region]).statuses()[0]
    }

    public var isHealthy: Bool { checkedTargets == 0 || healthyTargets >= minHealthy }
    public var isAvailable: Bool { !drained && isHealthy }

    /// "drained", "1 of 3 targets healthy, needs 2: …", or nil when available.
    public var unavailableReason: String? {
        if drained { return "drained" }
        if isHealthy { return nil }
        let detail = detail.map { ": \($0)" } ?? ""
        if checkedTargets == 1 { return "unhealthy" + detail }
        return "\(healthyTargets) of \(checkedTargets) targets healthy, needs \(minHealthy)" + detail
    }
}
