import GeoFrontCore
import Logging
import ServiceLifecycle

/// Active health checks: a service that probes every target of every checked region on its own
/// schedule and feeds the results to the ``HealthMonitor``. When a region's availability changes,
/// a new snapshot with the new statuses is published; the request path only ever reads snapshots.
///
/// Each target runs in its own task: first probe at start-up, then one every `interval_ms` plus a
/// random jitter of up to a tenth of the interval, so targets do not get probed in lock-step. A
/// probe that hangs only delays its own target, and never beyond `timeout_ms`.
public final class HealthChecker: Service, Sendable {
    public let monitor: HealthMonitor
    private let prober: HealthProber
    private let publisher: SnapshotPublisher
    private let logger: Logger

    public init(monitor: HealthMonitor, prober: HealthProber, publisher: SnapshotPublisher, logger: Logger) {
        self.monitor = monitor
        self.prober = prober
        self.publisher = publisher
        self.logger = logger
    }

    public func run() async throws {
        let checks = monitor.regions.enumerated().flatMap { regionIndex, region in
            region.isChecked
                ? region.healthTargets.indices.map { (regionIndex, $0, region.healthCheck!) } : []
        }
        guard !checks.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for (region, target, settings) in checks {
                    group.addTask { await self.check(region: region, target: target, settings: settings) }
                }
            }
        }
    }

    private func check(region: Int, target: Int, settings: HealthCheckSettings) async {
        let address = monitor.regions[region].healthTargets[target]
        while !Task.isCancelled {
            let result = await prober.probe(address, settings: settings)
            if Task.isCancelled { return }
            apply(monitor.record(region: region, target: target, result: result))
            let delay = settings.intervalMilliseconds + Int.random(in: 0...settings.jitterMilliseconds)
            try? await Task.sleep(for: .milliseconds(delay))
        }
    }

    private func apply(_ report: HealthMonitor.TargetReport) {
        if case .changed(let healthy) = report.transition {
            let reason: String
            switch report.health.lastResult {
            case .fail(let failure):
                reason = "\(report.health.fall) consecutive failed checks, last: \(failure)"
            case .pass(let latency):
                reason = "\(report.health.rise) consecutive passed checks, last in \(Int(latency.rounded())) ms"
            case nil:
                reason = "initial state"
            }
            logger.notice(
                "target \(healthy ? "healthy" : "unhealthy")",
                metadata: ["region": "\(report.region)", "target": "\(report.target)", "reason": "\(reason)"])
        }
        if report.regionAvailabilityChanged {
            let statuses = monitor.statuses()
            publisher.update { $0.with(statuses: statuses) }
            let index = monitor.regions.firstIndex { $0.name == report.region }!
            let status = statuses[index]
            logger.notice(
                "region \(status.isAvailable ? "available" : "unavailable")",
                metadata: ["region": "\(report.region)", "reason": "\(status.unavailableReason ?? "healthy")"])
        }
    }

    /// Re-reads every status and publishes it (after a runtime drain, for instance).
    public func republish() {
        let statuses = monitor.statuses()
        publisher.update { $0.with(statuses: statuses) }
    }
}

extension HealthChecker {
    /// One probe of every target, all at once, taken at face value (a target is healthy if its
    /// probe passed): the live view `geofront route --probe` explains decisions with.
    public static func probeOnce(regions: [RegionConfig], prober: HealthProber) async -> [RegionStatus] {
        let singleRound = regions.map { region in
            var region = region
            region.healthCheck?.rise = 1
            region.healthCheck?.fall = 1
            return region
        }
        let monitor = HealthMonitor(regions: singleRound)
        await withTaskGroup(of: (Int, Int, ProbeResult).self) { group in
            for (regionIndex, region) in singleRound.enumerated() where region.isChecked {
                for (targetIndex, target) in region.healthTargets.enumerated() {
                    group.addTask {
                        (regionIndex, targetIndex, await prober.probe(target, settings: region.healthCheck!))
                    }
                }
            }
            for await (region, target, result) in group {
                _ = monitor.record(region: region, target: target, result: result)
            }
        }
        return monitor.statuses()
    }
}
