import Synchronization

/// The health of every target and upstream, and the runtime drains: the one place health state
/// is written. Active checkers call ``record(region:target:result:)``; the proxy reports each
/// upstream exchange to ``recordUpstream(region:upstream:failed:now:)`` (outlier detection).
/// Whoever publishes snapshots reads ``statuses(now:)`` when something changed. Redirects never
/// touch it; a proxied request reports its outcome once (a short lock).
public final class HealthMonitor: Sendable {
    public struct TargetReport: Sendable {
        /// The entry's ``RegionConfig/id``: the region's name, or `service/region`.
        public let region: String
        public let target: HealthTarget
        public let health: TargetHealth
        public let transition: HealthTransition
        /// Set when the region became available or unavailable with this result, or one of its
        /// upstreams did.
        public let regionAvailabilityChanged: Bool
    }

    public struct UpstreamReport: Sendable {
        /// Set when this result ejected the upstream: until when, and after how many failures.
        public let ejectedFor: Duration?
        public let consecutiveFailures: Int
    }

    /// Passive-health state of one upstream.
    struct Ejection: Sendable {
        var consecutiveFailures = 0
        var until: ContinuousClock.Instant?
        /// Ejections in a row; the next one lasts `base × (count + 1)`.
        var count = 0
        var lastEjected: ContinuousClock.Instant?
        var reason: String?
    }

    private struct State {
        var targets: [[TargetHealth]]
        var ejections: [[Ejection]]
        var runtimeDrains: Set<String>
        /// Wall-clock time (seconds since 1970) of each target's last probe.
        var probedAt: [[Double?]]
        /// Fleet mode with a quorum: what the fleet's votes make of each target (nil: this
        /// instance's own view decides).
        var fleet: [[FleetVerdict?]]
    }

    /// A target's state and when it was last probed, for status pages.
    public struct TargetSnapshot: Sendable {
        public let region: String
        public let target: HealthTarget
        public let health: TargetHealth
        public let probedAt: Double?
        /// The fleet's verdict, when one applies.
        public let fleet: FleetVerdict?
    }

    public let regions: [RegionConfig]
    public let outlierDetection: OutlierDetectionSettings
    private let state: Mutex<State>
    /// Upstreams with consecutive failures on record: while none has, a success changes nothing
    /// and is not worth the lock (the proxy reports one per request).
    private let upstreamsFailing: Atomic<Int>

    /// - Parameter previous: a monitor of the configuration being replaced: targets and upstreams
    ///   that are still there (same region, same address) keep their state, and runtime drains of
    ///   regions that still exist are kept.
    public init(
        regions: [RegionConfig], outlierDetection: OutlierDetectionSettings = OutlierDetectionSettings(),
        carryingOver previous: HealthMonitor? = nil
    ) {
        self.regions = regions
        self.outlierDetection = outlierDetection
        let old = previous?.state.withLock { $0 }
        func oldRegion(_ id: String) -> Int? { previous?.regions.firstIndex { $0.id == id } }
        let targets = regions.map { region in
            region.healthTargets.map { target in
                let fresh = TargetHealth(rise: region.healthCheck?.rise ?? 1, fall: region.healthCheck?.fall ?? 1)
                guard let old, let index = oldRegion(region.id),
                    let position = previous!.regions[index].healthTargets.firstIndex(of: target)
                else { return fresh }
                return TargetHealth(rise: fresh.rise, fall: fresh.fall, healthy: old.targets[index][position].isHealthy)
            }
        }
        let ejections = regions.map { region in
            region.upstreams.map { upstream in
                guard let old, let index = oldRegion(region.id),
                    let position = previous!.regions[index].upstreams.firstIndex(where: {
                        $0.address == upstream.address
                    })
                else { return Ejection() }
                return old.ejections[index][position]
            }
        }
        let probedAt = regions.map { region in
            region.healthTargets.map { target -> Double? in
                guard let old, let index = oldRegion(region.id),
                    let position = previous!.regions[index].healthTargets.firstIndex(of: target)
                else { return nil }
                return old.probedAt[index][position]
            }
        }
        // The fleet's verdicts carry over while the quorum stays (the aggregator recomputes them).
        let fleet = regions.map { region in
            region.healthTargets.map { target -> FleetVerdict? in
                guard let old, let index = oldRegion(region.id), let quorum = region.healthCheck?.quorum,
                    let position = previous!.regions[index].healthTargets.firstIndex(of: target),
                    var verdict = old.fleet[index][position]
                else { return nil }
                verdict.quorum = quorum
                return verdict
            }
        }
        let drains = (old?.runtimeDrains ?? []).filter { name in regions.contains { $0.name == name } }
        state = Mutex(
            State(targets: targets, ejections: ejections, runtimeDrains: drains, probedAt: probedAt, fleet: fleet))
        upstreamsFailing = Atomic(ejections.joined().filter { $0.consecutiveFailures > 0 }.count)
    }

    /// Whether any upstream has consecutive failures on record (a success would reset them).
    public var upstreamFailuresOnRecord: Bool { upstreamsFailing.load(ordering: .relaxed) > 0 }

    /// Applies one probe result to target `target` of region `region` (indices into `regions`).
    public func record(region: Int, target: Int, result: ProbeResult, at wallClock: Double? = nil) -> TargetReport {
        let now = ContinuousClock.now
        return state.withLock { state in
            state.probedAt[region][target] = wallClock
            let before = Self.status(of: regions[region], state: state, index: region, now: now)
            let transition = state.targets[region][target].record(result)
            let after = Self.status(of: regions[region], state: state, index: region, now: now)
            return TargetReport(
                region: regions[region].id, target: regions[region].healthTargets[target],
                health: state.targets[region][target], transition: transition,
                regionAvailabilityChanged: before.isAvailable != after.isAvailable
                    || before.upstreamAvailable != after.upstreamAvailable)
        }
    }

    /// Outlier detection: the outcome of one proxied exchange with an upstream. `failed` covers
    /// connect errors, resets, timeouts and (when `count_5xx`) 5xx answers. Ejects the upstream
    /// after `consecutive_failures` in a row, unless `max_ejection_percent` of its region is
    /// already ejected.
    public func recordUpstream(
        region: Int, upstream: Int, failed: Bool, reason: String? = nil, now: ContinuousClock.Instant = .now
    )
        -> UpstreamReport
    {
        state.withLock { state in
            var entry = state.ejections[region][upstream]
            let wasFailing = entry.consecutiveFailures > 0
            defer {
                state.ejections[region][upstream] = entry
                let failing = entry.consecutiveFailures > 0
                if failing != wasFailing { upstreamsFailing.add(failing ? 1 : -1, ordering: .relaxed) }
            }
            guard failed else {
                entry.consecutiveFailures = 0
                return UpstreamReport(ejectedFor: nil, consecutiveFailures: 0)
            }
            // Requests already under way when it was ejected say nothing new.
            if let until = entry.until, until > now {
                return UpstreamReport(ejectedFor: nil, consecutiveFailures: entry.consecutiveFailures)
            }
            entry.consecutiveFailures += 1
            entry.reason = reason
            let settings = outlierDetection
            guard entry.consecutiveFailures >= settings.consecutiveFailures, entry.until.map({ $0 <= now }) ?? true
            else { return UpstreamReport(ejectedFor: nil, consecutiveFailures: entry.consecutiveFailures) }
            let all = state.ejections[region]
            let ejected = all.filter { $0.until.map { $0 > now } ?? false }.count
            guard ejected * 100 < settings.maxEjectionPercent * all.count else {
                return UpstreamReport(ejectedFor: nil, consecutiveFailures: entry.consecutiveFailures)
            }
            // Repeated ejections grow; a long healthy spell resets the multiplier.
            let quiet = Duration.milliseconds(settings.maxEjectionMilliseconds + settings.baseEjectionMilliseconds)
            if let last = entry.lastEjected, now - last > quiet { entry.count = 0 }
            entry.count += 1
            let length = Duration.milliseconds(
                min(settings.maxEjectionMilliseconds, settings.baseEjectionMilliseconds * entry.count))
            entry.until = now + length
            entry.lastEjected = now
            let failures = entry.consecutiveFailures
            entry.consecutiveFailures = 0
            return UpstreamReport(ejectedFor: length, consecutiveFailures: failures)
        }
    }

    /// Ends ejections whose time is up; returns whether any did (the caller republishes).
    public func expireEjections(now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in
            var changed = false
            for region in state.ejections.indices {
                for upstream in state.ejections[region].indices {
                    if let until = state.ejections[region][upstream].until, until <= now {
                        state.ejections[region][upstream].until = nil
                        changed = true
                    }
                }
            }
            return changed
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

    /// Replaces the fleet's verdicts (per region and target, in config order; nil: own view);
    /// returns whether any region's status changed (the caller republishes).
    public func setFleetVerdicts(_ verdicts: [[FleetVerdict?]], now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in
            guard verdicts.map(\.count) == state.fleet.map(\.count), verdicts != state.fleet else { return false }
            let before = regions.indices.map { Self.status(of: regions[$0], state: state, index: $0, now: now) }
            state.fleet = verdicts
            let after = regions.indices.map { Self.status(of: regions[$0], state: state, index: $0, now: now) }
            return before != after
        }
    }

    /// The fleet's verdicts, per region and target.
    public func fleetVerdicts() -> [[FleetVerdict?]] {
        state.withLock { $0.fleet }
    }

    /// Every region's status, in config order.
    public func statuses(now: ContinuousClock.Instant = .now) -> [RegionStatus] {
        state.withLock { state in
            regions.indices.map { Self.status(of: regions[$0], state: state, index: $0, now: now) }
        }
    }

    /// Every target's state, per region, in config order.
    public func targetStates() -> [[TargetHealth]] {
        state.withLock { $0.targets }
    }

    /// Every checked target with its state and last probe time, in config order.
    public func targetSnapshots() -> [TargetSnapshot] {
        state.withLock { state in
            regions.indices.flatMap { region in
                regions[region].isChecked
                    ? regions[region].healthTargets.indices.map { target in
                        TargetSnapshot(
                            region: regions[region].id, target: regions[region].healthTargets[target],
                            health: state.targets[region][target], probedAt: state.probedAt[region][target],
                            fleet: state.fleet[region][target])
                    } : []
            }
        }
    }

    /// Regions drained at runtime (admin API), not counting `drain` in the configuration.
    public var runtimeDrains: Set<String> { state.withLock { $0.runtimeDrains } }

    private static func status(of region: RegionConfig, state: State, index: Int, now: ContinuousClock.Instant)
        -> RegionStatus
    {
        let ownView = state.targets[index]
        let verdicts = state.fleet[index]
        // What routing goes by: the fleet's verdict where one applies, else this instance's view.
        let healthy = ownView.indices.map { verdicts[$0]?.isDown.map { !$0 } ?? ownView[$0].isHealthy }
        let ejections = state.ejections[index]
        let drained = region.drain || state.runtimeDrains.contains(region.name)
        // Active checks probe the upstreams themselves unless the region names other targets.
        let targetsAreUpstreams =
            region.isChecked && region.healthTargets.map(\.address) == region.upstreams.map(\.address)
        let ejected = ejections.map { $0.until.map { $0 > now } ?? false }
        let upstreamAvailable = region.upstreams.indices.map { upstream in
            !ejected[upstream] && (!targetsAreUpstreams || healthy[upstream])
        }
        var details: [String] = []
        var votes: [String] = []
        let named = region.healthTargets.count > 1
        for (target, verdict) in verdicts.enumerated() where region.isChecked {
            guard let verdict else { continue }
            votes.append((named ? "\(region.healthTargets[target]) " : "") + verdict.description)
            if verdict.isDown == true { details.append(votes.last!) }
        }
        for (target, health) in ownView.enumerated()
        where region.isChecked && !health.isHealthy && verdicts[target]?.isDown == nil {
            let failures = health.consecutiveFailures
            var last = ""
            if case .fail(let reason) = health.lastResult { last = ", \(reason)" }
            let count = failures == 1 ? "1 failed check" : "\(failures) failed checks"
            let name = region.healthTargets.count > 1 ? "\(region.healthTargets[target]) " : ""
            details.append(failures > 0 ? "\(name)\(count)\(last)" : "\(name)recovering")
        }
        for (upstream, isEjected) in ejected.enumerated() where isEjected {
            let reason = ejections[upstream].reason.map { ", last: \($0)" } ?? ""
            details.append("\(region.upstreams[upstream].address) ejected by outlier detection\(reason)")
        }
        let counted: Int
        let healthyCount: Int
        if targetsAreUpstreams || (!region.isChecked && region.mode == .proxy) {
            counted = region.upstreams.count
            healthyCount = upstreamAvailable.filter { $0 }.count
        } else if region.isChecked {
            counted = healthy.count
            healthyCount = healthy.filter { $0 }.count
        } else {
            counted = 0
            healthyCount = 0
        }
        return RegionStatus(
            drained: drained, checkedTargets: counted, healthyTargets: healthyCount, minHealthy: region.minHealthy,
            detail: details.isEmpty ? nil : details.joined(separator: "; "), upstreamAvailable: upstreamAvailable,
            healthVotes: votes.isEmpty ? nil : votes.joined(separator: "; "))
    }
}
