import GeoFrontCore
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Active health checks: a service that probes every target of every checked region on its own
/// schedule and feeds the results to the ``HealthMonitor``. When a region's availability changes,
/// a new snapshot with the new statuses is published; the request path only ever reads snapshots.
///
/// Each target runs in its own task: first probe at start-up, then one every `interval_ms` plus a
/// random jitter of up to a tenth of the interval, so targets do not get probed in lock-step. A
/// probe that hangs only delays its own target, and never beyond `timeout_ms`.
public final class HealthChecker: Service, Sendable {
    public let registry: HealthRegistry
    private let prober: HealthProber
    private let publisher: SnapshotPublisher
    private let logger: Logger
    private let metrics: GeoFrontMetrics?

    public init(
        registry: HealthRegistry, prober: HealthProber, publisher: SnapshotPublisher, logger: Logger,
        metrics: GeoFrontMetrics? = nil
    ) {
        self.registry = registry
        self.prober = prober
        self.publisher = publisher
        self.logger = logger
        self.metrics = metrics
    }

    /// The current monitor (replaced by reloads).
    public var monitor: HealthMonitor { registry.monitor }

    /// Probes every checked target of the current monitor; when a reload replaces the monitor,
    /// the probes restart for the new targets. Ends on graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                var running = self.startChecks(in: &group)
                for await _ in self.registry.changes {
                    running.cancel()
                    running = self.startChecks(in: &group)
                }
                running.cancel()
            }
        }
    }

    /// Starts one task per target of the current monitor; the returned task ends them all.
    private func startChecks(in group: inout TaskGroup<Void>) -> Task<Void, Never> {
        let monitor = registry.monitor
        let checks = monitor.regions.enumerated().flatMap { regionIndex, region in
            region.isChecked
                ? region.healthTargets.indices.map { (regionIndex, $0, region.healthCheck!) } : []
        }
        let task = Task {
            await withTaskGroup(of: Void.self) { inner in
                for (region, target, settings) in checks {
                    inner.addTask {
                        await self.check(monitor: monitor, region: region, target: target, settings: settings)
                    }
                }
            }
        }
        group.addTask {
            await withTaskCancellationHandler {
                await task.value
            } onCancel: {
                task.cancel()
            }
        }
        return task
    }

    private func check(monitor: HealthMonitor, region: Int, target: Int, settings: HealthCheckSettings) async {
        let address = monitor.regions[region].healthTargets[target]
        while !Task.isCancelled {
            let result = await prober.probe(
                address, settings: settings, upstreamTLS: publisher.current.config.proxy.upstreamTLS)
            if Task.isCancelled { return }
            apply(
                monitor.record(region: region, target: target, result: result, at: wallClockSeconds()), monitor: monitor
            )
            let delay = settings.intervalMilliseconds + Int.random(in: 0...settings.jitterMilliseconds)
            try? await Task.sleep(for: .milliseconds(delay))
        }
    }

    private func apply(_ report: HealthMonitor.TargetReport, monitor: HealthMonitor) {
        metrics?.recordProbe(region: report.region, target: report.target.description, health: report.health)
        if case .changed(let healthy) = report.transition {
            metrics?.recordHealthTransition(region: report.region, target: report.target.description, healthy: healthy)
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
        // A monitor replaced by a reload no longer speaks for the published snapshot.
        if report.regionAvailabilityChanged, monitor === registry.monitor {
            let statuses = monitor.statuses()
            publisher.update { $0.isDescribed(by: monitor) ? $0.with(statuses: statuses) : $0 }
            let index = monitor.regions.firstIndex { $0.id == report.region }!
            let status = statuses[index]
            logger.notice(
                "region \(status.isAvailable ? "available" : "unavailable")",
                metadata: ["region": "\(report.region)", "reason": "\(status.unavailableReason ?? "healthy")"])
        }
    }

    /// Re-reads every status and publishes it (after a runtime drain, for instance).
    public func republish() {
        let monitor = registry.monitor
        let statuses = monitor.statuses()
        publisher.update { $0.isDescribed(by: monitor) ? $0.with(statuses: statuses) : $0 }
    }
}

extension HealthChecker {
    /// One probe of every target, all at once, taken at face value (a target is healthy if its
    /// probe passed): the live view `geofront route --probe` explains decisions with. TLS targets
    /// are verified per `upstreamTLS` (the configuration's `proxy.upstream_tls`).
    public static func probeOnce(
        regions: [RegionConfig], upstreamTLS: UpstreamTLSSettings = UpstreamTLSSettings(), prober: HealthProber
    ) async -> [RegionStatus] {
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
                        (
                            regionIndex, targetIndex,
                            await prober.probe(target, settings: region.healthCheck!, upstreamTLS: upstreamTLS)
                        )
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

/// Seconds since 1970, for timestamps people read.
func wallClockSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
