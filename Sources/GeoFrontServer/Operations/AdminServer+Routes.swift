import Foundation
import GeoFrontCore
import NIOHTTP1

extension AdminServer {
    /// `GET /routes`: every route with its backends' configured and current weights, request
    /// and error counts (upstream attempts) and rollback state.
    func routesJSON() -> String {
        let snapshot = server.publisher.current
        let reports = snapshot.routeControl?.report() ?? []
        let routes = reports.map(Self.json)
        return JSONText.object([
            ("generation", "\(snapshot.generation)"),
            ("default_route", snapshot.config.routes?.defaultRoute.map { JSONText.string($0) } ?? "null"),
            ("routes", "[" + routes.joined(separator: ",") + "]"),
        ])
    }

    /// `PUT /routes/NAME/weights` with `{"service": weight, …}`: applied at once, without a reload,
    /// until a reload changes that route's backends.
    func setRouteWeights(route name: String, body: [UInt8]) -> Answer {
        let snapshot = server.publisher.current
        guard let control = snapshot.routeControl else {
            return .error(.notFound, "the configuration has no routes")
        }
        let weights: [String: Int]
        switch RouteControl.parseWeights(Data(body)) {
        case .success(let parsed): weights = parsed
        case .failure(let error): return .error(.badRequest, error.description)
        }
        switch control.setWeights(route: name, weights) {
        case .success:
            server.routeEvents.weightsSet(route: name, weights: weights, control: control)
            let report = control.report().first { $0.name == name }
            return .json(report.map(Self.json) ?? "{}")
        case .failure(let error):
            if case .unknownRoute = error { return .error(.notFound, error.description) }
            return .error(.badRequest, error.description)
        }
    }

    static func json(_ report: RouteReport) -> String {
        let backends = report.backends.map { backend in
            JSONText.object([
                ("service", JSONText.string(backend.service)),
                ("configured_weight", "\(backend.configuredWeight)"),
                ("weight", "\(backend.weight)"),
                ("requests", "\(backend.requests)"),
                ("errors", "\(backend.errors)"),
                ("window_requests", backend.windowRequests.map { "\($0)" } ?? "null"),
                ("window_errors", backend.windowErrors.map { "\($0)" } ?? "null"),
                ("rolled_back", "\(backend.rolledBack)"),
                ("rolled_back_at", backend.rolledBackAt.map { JSONText.string(JSONText.isoTime($0)) } ?? "null"),
                ("kept_as_last_backend", "\(backend.keptAsLastBackend)"),
            ])
        }
        let rollback = report.rollback.map { settings in
            JSONText.object([
                ("max_error_rate", "\(settings.maxErrorRate)"),
                ("min_requests", "\(settings.minRequests)"),
                ("window_s", "\(settings.windowSeconds)"),
                ("bucket_s", "\(settings.bucketSeconds)"),
            ])
        }
        return JSONText.object([
            ("name", JSONText.string(report.name)),
            ("backends", "[" + backends.joined(separator: ",") + "]"),
            ("rollback", rollback ?? "null"),
        ])
    }

    /// The status page's table of routes (empty without routes).
    func routesTable() -> String {
        let reports = server.publisher.current.routeControl?.report() ?? []
        guard !reports.isEmpty else { return "" }
        var rows: [String] = []
        for report in reports {
            let total = max(1, report.backends.map(\.weight).reduce(0, +))
            for (index, backend) in report.backends.enumerated() {
                let share = Int((Double(backend.weight) / Double(total) * 100).rounded())
                let state =
                    backend.rolledBack
                    ? "<td class=\"unavailable\">rolled back</td>"
                    : backend.keptAsLastBackend
                        ? "<td class=\"unavailable\">failing, kept (last backend)</td>" : "<td>-</td>"
                let changed = backend.weight != backend.configuredWeight ? " (file: \(backend.configuredWeight))" : ""
                rows.append(
                    "<tr><td>\(index == 0 ? html(report.name) : "")</td><td>\(html(backend.service))</td>"
                        + "<td>\(backend.weight)\(changed) · \(share)%</td><td>\(backend.requests)</td>"
                        + "<td>\(backend.errors)</td>\(state)</tr>")
            }
        }
        return "<h2>Routes</h2><table><tr><th>route</th><th>backend</th><th>weight</th><th>requests</th>"
            + "<th>errors</th><th>rollback</th></tr>" + rows.joined() + "</table>"
    }
}
