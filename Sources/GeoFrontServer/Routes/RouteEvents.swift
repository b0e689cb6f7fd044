import GeoFrontCore
import Logging

/// What follows a change of a route's weights, at run time: an automatic rollback reported by
/// the proxy (``RouteControl/record(route:backend:failed:now:)``) or an operator's
/// `PUT /routes/NAME/weights`. Logs it, counts rollbacks in
/// `geofront_route_rollbacks_total{route,backend}` and publishes a snapshot with the new weights.
/// The control keeps the state; this only tells everyone.
public final class RouteEvents: Sendable {
    private let publisher: SnapshotPublisher
    private let metrics: GeoFrontMetrics
    private let logger: Logger

    init(publisher: SnapshotPublisher, metrics: GeoFrontMetrics, logger: Logger) {
        self.publisher = publisher
        self.metrics = metrics
        self.logger = logger
    }

    /// A rollback event from `control` (once per rollback, from the request that tipped it).
    func rollback(_ event: RollbackEvent, control: RouteControl) {
        let metadata: Logger.Metadata = [
            "route": "\(event.route)", "backend": "\(event.service)", "requests": "\(event.requests)",
            "errors": "\(event.errors)",
        ]
        switch event.action {
        case .rolledBack:
            logger.warning(
                "route backend rolled back: its weight is 0 until an operator restores it", metadata: metadata)
            metrics.routeRollback(route: event.route, backend: event.service).increment()
            publishWeights(of: control)
        case .keptLastBackend:
            logger.warning(
                "route backend over its error rate but kept: it is the route's last backend with a weight",
                metadata: metadata)
        }
    }

    /// An operator set weights (`PUT /routes/NAME/weights`).
    func weightsSet(route: String, weights: [String: Int], control: RouteControl) {
        logger.notice(
            "route weights set at runtime",
            metadata: ["route": "\(route)", "weights": "\(weights.sorted { $0.key < $1.key })"])
        publishWeights(of: control)
    }

    /// The current snapshot with `control`'s weights, if it still belongs to that control (a
    /// reload may have replaced it: the new one carries the weights over itself).
    private func publishWeights(of control: RouteControl) {
        publisher.update { snapshot in
            snapshot.routeControl === control ? snapshot.with(routeWeights: control.currentWeights()) : snapshot
        }
    }
}
