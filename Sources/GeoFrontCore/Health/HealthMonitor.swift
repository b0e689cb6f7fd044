import Synchronization

/// The health of every checked target, and the runtime drains: the one place health state is
/// written. Checkers call ``record(region:target:result:)``; whoever publishes snapshots reads
/// ``statuses()`` when a region's availability changed. The request path never touches this.
public final class HealthMonitor: Sendable {
    public struct TargetReport: Sendable {
        public let region: String
        public let target: HealthTarget
        public let health: TargetHealth
        public let transition: HealthTransition
        /// Set when the region became available or unavailable with this result.
        public let regionAvailabilityChanged: Bool
    }

    private struct State {
        var targets: [[TargetHealth]]
        var runtimeDrains: Set<String>
    }

    public let regions: [RegionConfig]
    private let state: Mutex<State>

    public init(regions: [RegionConfig]) {
        self.regions = regions
        let targets = regions.map { region in
            region.healthTargets.map { _ in
                TargetHealth(rise: region.healthCheck?.rise ?? 1, fall: region.healthCheck?.fall ?? 1)
            }
        }
        state = Mutex(State(targets: targets, runtimeDrains: []))
    }

    /// Applies one probe result to target `target` of region `region` (indices into `regions`).
    public func record(region: Int, target: Int, result: ProbeResult) -> TargetReport {
        state.withLock { state in
            let before = Self.status(of: regions[region], targets: state.targets[region], drains: state.runtimeDrains)
            let transition = state.targets[region][target].record(result)
            let after = Self.status(of: regions[region], targets: state.targets[region], drains: state.runtimeDrains)
            return TargetReport(
                region: regions[region].name, target: regions[region].healthTargets[target],
                health: state.targets[region][target], transition: transition,
                regionAvailabilityChanged: before.isAvailable != after.isAvailable)
        }
    }

    /// Takes a region out of rotation (or puts it back) at runtime; returns false for an unknown name.
    public func setDrained(_ name: String, _ drained: Bool) -> Bool {
        guard regions.contains(where: { $0.name == name }) else { return false }
        state.withLock { state in
            if drained { state.runtimeDrains.insert(name) } else { state.runtimeDrains.remove(name) }
        }
        return true
    }

    /// Every region's status, in config order.
    public func statuses() -> [RegionStatus] {
        state.withLock { state in
            regions.indices.map {
                Self.status(of: regions[$0], targets: state.targets[$0], drains: state.runtimeDrains)
            }
        }
    }

    /// Every target's state, per region, in config order.
    public func targetStates() -> [[TargetHealth]] {
        state.withLock { $0.targets }
    }

    static func status(of region: RegionConfig, targets: [TargetHealth], drains: Set<String>) -> RegionStatus {
        let checked = region.isChecked ? targets.count : 0
        let healthy = region.isChecked ? targets.filter(\.isHealthy).count : 0
        var detail: String?
        if checked > 0, healthy < region.minHealthy {
            detail = targets.enumerated().filter { !$0.element.isHealthy }.map { index, target in
                let failures = target.consecutiveFailures
                let last: String
                if case .fail(let reason) = target.lastResult { last = ", \(reason)" } else { last = "" }
                let count = failures == 1 ? "1 failed check" : "\(failures) failed checks"
                let name = checked > 1 ? "\(region.healthTargets[index]) " : ""
                return failures > 0 ? "\(name)\(count)\(last)" : "\(name)recovering"
            }.joined(separator: "; ")
        }
        return RegionStatus(
            drained: region.drain || drains.contains(region.name), checkedTargets: checked, healthyTargets: healthy,
            minHealthy: region.minHealthy, detail: detail)
    }
}
