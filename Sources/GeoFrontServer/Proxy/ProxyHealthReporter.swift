import GeoFrontCore
import Logging

/// Passive health: the proxy reports every upstream exchange here. Failures feed the same
/// ``HealthMonitor`` as the active checks; when an upstream is ejected (or its ejection ends) a new
/// snapshot is published, so the balancers stop (or resume) picking it.
public final class ProxyHealthReporter: Sendable {
    public let registry: HealthRegistry
    private let publisher: SnapshotPublisher
    private let logger: Logger

    public init(registry: HealthRegistry, publisher: SnapshotPublisher, logger: Logger) {
        self.registry = registry
        self.publisher = publisher
        self.logger = logger
    }

    func record(snapshot: RoutingSnapshot, region: Int, upstream: Int, failed: Bool, reason: String?) {
        let monitor = registry.monitor
        // A success only resets failures: with none on record there is nothing to do.
        if !failed && !monitor.upstreamFailuresOnRecord { return }
        // The monitor belongs to one configuration; results for another one are dropped.
        guard region < monitor.regions.count, monitor.regions[region].id == snapshot.regions[region].config.id,
            upstream < monitor.regions[region].upstreams.count
        else { return }
        let report = monitor.recordUpstream(region: region, upstream: upstream, failed: failed, reason: reason)
        guard let length = report.ejectedFor else { return }
        let name = monitor.regions[region].id
        let address = monitor.regions[region].upstreams[upstream].description
        logger.notice(
            "upstream ejected",
            metadata: [
                "region": "\(name)", "upstream": "\(address)", "for": "\(length)",
                "reason": "\(report.consecutiveFailures) consecutive failures, last: \(reason ?? "-")",
            ])
        republish(monitor)
        Task { [self] in
            try? await Task.sleep(for: length)
            if monitor.expireEjections() {
                logger.notice("upstream ejection over", metadata: ["region": "\(name)", "upstream": "\(address)"])
                republish(monitor)
            }
        }
    }

    private func republish(_ monitor: HealthMonitor) {
        guard monitor === registry.monitor else { return }
        let statuses = monitor.statuses()
        publisher.update { $0.isDescribed(by: monitor) ? $0.with(statuses: statuses) : $0 }
    }
}
