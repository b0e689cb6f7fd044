/// What ``RouteControl/record(route:backend:failed:now:)`` returns when a backend's error rate
/// crossed its route's `rollback.max_error_rate`: once per rollback (and once per spell of a kept
/// last backend), for a log line and, for ``Action/rolledBack`` only, a count in
/// `geofront_route_rollbacks_total{route,backend}`.
public struct RollbackEvent: Sendable, Hashable, CustomStringConvertible {
    public enum Action: Sendable, Hashable {
        /// The backend's weight was set to 0; it stays 0 until an operator sets it or a reload
        /// changes the route's backends.
        case rolledBack
        /// It would have been rolled back but is the last backend with a weight above 0, so it
        /// keeps its weight (a route that sends nowhere helps nobody). Reported again only after
        /// its error rate went back to at most half the threshold, or another backend got a weight
        /// and it was then rolled back.
        case keptLastBackend
    }

    public let action: Action
    public let route: String
    public let service: String
    /// Index into the route's backends.
    public let backend: Int
    /// In the window when it crossed.
    public let requests: Int
    public let errors: Int
    public let settings: RollbackSettings

    public var errorRate: Double { requests > 0 ? Double(errors) / Double(requests) : 0 }

    public var description: String {
        let evidence =
            "\(errors) of \(requests) requests failed in the last \(settings.windowSeconds) s "
            + "(\(Self.percent(errorRate)), over max_error_rate \(Self.percent(settings.maxErrorRate)))"
        switch action {
        case .rolledBack:
            return "route \"\(route)\": backend \"\(service)\" rolled back to weight 0: \(evidence); "
                + "it stays at 0 until its weight is set again or a reload changes the route's backends"
        case .keptLastBackend:
            return "route \"\(route)\": backend \"\(service)\" would be rolled back: \(evidence); "
                + "kept, as it is the last backend with a weight above 0"
        }
    }

    /// `0.05` → `5 %`, `0.125` → `12.5 %`.
    static func percent(_ share: Double) -> String {
        let tenths = (share * 1000).rounded()
        let whole = Int(tenths / 10)
        let fraction = Int(tenths) % 10
        return fraction == 0 ? "\(whole) %" : "\(whole).\(fraction) %"
    }
}
