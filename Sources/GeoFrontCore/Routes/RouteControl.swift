import Foundation

/// The runtime state of the routes, shared by every event loop: each backend's effective weight
/// (its configured weight, replaced by ``setWeights(route:_:)`` from the admin API, or set to 0 by
/// an automatic rollback), its request and error totals, and the rollback detector.
///
/// The proxy reports each upstream attempt's outcome to ``record(route:backend:failed:now:)``.
/// Whoever publishes snapshots watches ``version`` (it grows whenever an effective weight
/// changes) and rebuilds its `RouteTable` from ``currentWeights()`` with
/// `RouteTable.withWeights(_:route:)` after a ``setWeights(route:_:)`` or a rollback.
///
/// **Rollback.** For a route with `rollback`, each backend's outcomes are counted in a sliding
/// window of `window_s` (per-second buckets up to 60 s, else 60 buckets of `ceil(window_s / 60)`
/// seconds; see ``RollbackWindow``). When a backend's errors exceed `max_error_rate` of its
/// requests in the window, with at least `min_requests` of them, its weight is set to 0 and a
/// ``RollbackEvent`` is returned, once. It stays 0 until an operator sets its weight (which also
/// empties its window, so old failures do not roll it back again at once) or a reload changes the
/// route's backends. The last backend of a route with a weight above 0 is never rolled back: a
/// route must send somewhere, and when every backend fails the problem is rarely the canary, so
/// zeroing the last one would only turn errors into refusals. It is marked "kept as last backend"
/// (``RouteReport/Backend/keptAsLastBackend``) and reported once as
/// ``RollbackEvent/Action/keptLastBackend``, for the operator's log, not the rollback counter.
/// A backend whose weight is already 0 is not watched.
///
/// **Reload.** `init(routes:carryingOver:)` keeps the runtime state of every route whose name and
/// backends (services and configured weights, in order) are unchanged: runtime weights, rollback
/// marks, totals and window. A reload whose file changes a route's backends replaces it: its
/// configured weights apply and its counts start from 0. (So to make a file's weights win over an
/// admin change, change them in the file; a reload of the same file keeps the admin's.)
///
/// **Cost.** A route without `rollback` costs one relaxed atomic increment per outcome (two for a
/// failure), about 20 ns in a release build; a route with `rollback` adds that route's own lock,
/// held for an O(1) update (two comparisons find the bucket; a division once per bucket), about
/// 35 ns in all. Event loops reporting on the same backend share its counters' cache line.
public final class RouteControl: Sendable {
    /// The routes, in file order: `route` indices are into this array (as in `RouteTable`).
    public let routes: [RouteConfig]
    private let runtimes: [RouteRuntime]
    private let versionCounter: RouteControlVersion

    /// - Parameter previous: the control of the configuration being replaced: its routes with the
    ///   same name and backends keep their state (see the type's documentation).
    public init(routes: [RouteConfig], carryingOver previous: RouteControl? = nil) {
        self.routes = routes
        let version = previous?.versionCounter ?? RouteControlVersion()
        versionCounter = version
        runtimes = routes.map { route in
            guard let old = previous?.runtimes.first(where: { $0.name == route.name }), old.backends == route.backends
            else { return RouteRuntime(route, version: version) }
            // The same object when nothing it holds changed: outcomes reported through the old
            // control by requests still under way are not lost.
            if old.rollback == route.rollback { return old }
            return RouteRuntime(route, carryingOver: old, version: version)
        }
        if previous != nil { version.bump() }
    }

    /// Grows whenever an effective weight changes (and on reload), across reloads.
    public var version: UInt64 { versionCounter.current }

    /// The effective weights: per route in route order, per backend in the route's order.
    public func currentWeights() -> [[Int]] {
        runtimes.map(\.weights)
    }

    /// Counts one upstream attempt's outcome on backend `backend` of route `route` (indices into
    /// ``routes`` and its backends): `failed` for a 5xx answer or a failed attempt (connect
    /// error, reset, timeout). Returns an event when this outcome made the route roll the backend
    /// back (or keep it as the last one); the caller logs it, counts it and republishes.
    public func record(route: Int, backend: Int, failed: Bool, now: ContinuousClock.Instant = .now)
        -> RollbackEvent?
    {
        runtimes[route].record(backend: backend, failed: failed, now: now)
    }

    /// Sets some of route `name`'s weights (service → 0…1000); services not given keep theirs, the
    /// ones given lose their rollback marks. Refused, with nothing changed, for an unknown route or
    /// service, a weight out of range, no weights, or every weight of the route 0 after the change.
    /// Returns the route's effective weights, in its backends' order.
    public func setWeights(route name: String, _ weights: [String: Int]) -> Result<[Int], RouteControlError> {
        guard let index = routes.firstIndex(where: { $0.name == name }) else {
            return .failure(.unknownRoute(name, routes: routes.map(\.name)))
        }
        let services = routes[index].backends.map(\.service)
        guard !weights.isEmpty else { return .failure(.noWeights(route: name)) }
        var changes: [(backend: Int, weight: Int)] = []
        for service in weights.keys.sorted() {
            guard let backend = services.firstIndex(of: service) else {
                return .failure(.unknownService(service, route: name, services: services))
            }
            let weight = weights[service]!
            guard (0...1000).contains(weight) else {
                return .failure(.weightOutOfRange(weight, service: service, route: name))
            }
            changes.append((backend, weight))
        }
        return runtimes[index].setWeights(changes)
    }

    /// Every route's state, in route order. `now` moves the rollback windows (old outcomes leave).
    public func report(now: ContinuousClock.Instant = .now) -> [RouteReport] {
        runtimes.map { $0.report(now: now) }
    }

    /// Reads an admin request body, `{"api-v1": 70, "api-v2": 30}`, for ``setWeights(route:_:)``:
    /// an object whose values are integers (ranges are checked there).
    public static func parseWeights(_ body: Data) -> Result<[String: Int], RouteControlError> {
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: body)
        } catch {
            return .failure(.malformed("malformed JSON: \(ConfigLoader.jsonReason(error))"))
        }
        guard case .object(let fields) = document else {
            return .failure(
                .malformed("expected an object of weights, e.g. {\"api-v1\": 90, \"api-v2\": 10}, not \(document.kind)")
            )
        }
        var weights: [String: Int] = [:]
        for (service, value) in fields.sorted(by: { $0.key < $1.key }) {
            guard case .number(let number) = value, number == number.rounded(), abs(number) < 1e15 else {
                let shown = JSONValue.string(service).brief
                return .failure(.malformed("\(shown): \(value.brief) is not a weight (an integer 0…1000)"))
            }
            weights[service] = Int(number)
        }
        return .success(weights)
    }
}
