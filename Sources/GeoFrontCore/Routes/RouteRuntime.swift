import Foundation
import Synchronization

/// One route's part of ``RouteControl``: its effective weights, rollback marks, totals and
/// rollback window. A reload that keeps the route's name, backends and rollback settings hands the
/// same object to the new control, so outcomes still reported through the old one are not lost.
final class RouteRuntime: Sendable {
    /// What a backend is marked with besides its weight.
    struct Mark: Sendable {
        /// Wall-clock time (seconds since 1970) of the automatic rollback that set its weight to 0.
        var rolledBackAt: Double?
        /// Its error rate is over the threshold but it is the last backend with a weight: kept.
        var keptAsLast = false
    }

    struct State: Sendable {
        var weights: [Int]
        var marks: [Mark]
        /// Kept up to date for routes with `rollback` only.
        var window: RollbackWindow
    }

    let name: String
    let backends: [RouteBackend]
    let rollback: RollbackSettings?
    let totals: BackendTotals
    private let state: Mutex<State>
    private let version: RouteControlVersion
    /// What the rollback window's times are counted from. Last: a resilient type, so stored
    /// properties after it would be found through runtime metadata.
    private let epoch: ContinuousClock.Instant

    /// A fresh route: the configured weights, nothing counted.
    init(_ route: RouteConfig, version: RouteControlVersion) {
        name = route.name
        backends = route.backends
        rollback = route.rollback
        totals = BackendTotals(count: route.backends.count)
        self.version = version
        let window = RollbackWindow(windowSeconds: route.rollback?.windowSeconds ?? 1, backends: route.backends.count)
        epoch = .now
        state = Mutex(
            State(
                weights: route.backends.map(\.weight), marks: route.backends.map { _ in Mark() }, window: window))
    }

    /// The same route (name and backends) with other rollback settings: weights, marks and totals
    /// are kept, and the window too when `window_s` is unchanged. A copy: what is reported through
    /// the old control from now on (requests under way during the reload) is not carried.
    init(_ route: RouteConfig, carryingOver old: RouteRuntime, version: RouteControlVersion) {
        precondition(route.name == old.name && route.backends == old.backends)
        name = route.name
        backends = route.backends
        rollback = route.rollback
        totals = BackendTotals(count: route.backends.count, initial: old.totals.all)
        self.version = version
        epoch = old.epoch
        var state = old.state.withLock { $0 }
        if let rollback = route.rollback {
            if rollback.windowSeconds != old.rollback?.windowSeconds {
                state.window = RollbackWindow(windowSeconds: rollback.windowSeconds, backends: route.backends.count)
            }
        } else {
            for index in state.marks.indices { state.marks[index].keptAsLast = false }
        }
        self.state = Mutex(state)
    }

    /// Counts one outcome; for a route with `rollback`, may roll the backend back (see
    /// ``RouteControl/record(route:backend:failed:now:)``).
    @inline(__always)
    func record(backend: Int, failed: Bool, now: ContinuousClock.Instant) -> RollbackEvent? {
        totals.add(backend: backend, failed: failed)
        guard let rollback else { return nil }
        let time = now - epoch
        return state.withLock { state in
            Self.evaluate(&state, backend: backend, failed: failed, at: time, settings: rollback, runtime: self)
        }
    }

    private static func evaluate(
        _ state: inout State, backend: Int, failed: Bool, at time: Duration, settings: RollbackSettings,
        runtime: RouteRuntime
    ) -> RollbackEvent? {
        state.window.add(backend: backend, failed: failed, at: time)
        // A backend already at 0 (rolled back, or set so) has nothing left to lose.
        guard state.weights[backend] > 0 else { return nil }
        let requests = state.window.requests[backend]
        let errors = state.window.errors[backend]
        guard requests >= settings.minRequests, Double(errors) > settings.maxErrorRate * Double(requests) else {
            // A kept last backend is reported again only after it has recovered to half the rate.
            if state.marks[backend].keptAsLast && Double(errors) <= settings.maxErrorRate / 2 * Double(requests) {
                state.marks[backend].keptAsLast = false
            }
            return nil
        }
        let others = state.weights.indices.contains { $0 != backend && state.weights[$0] > 0 }
        let action: RollbackEvent.Action
        if others {
            action = .rolledBack
            state.weights[backend] = 0
            state.marks[backend] = Mark(rolledBackAt: Date().timeIntervalSince1970)
            runtime.version.bump()
        } else {
            guard !state.marks[backend].keptAsLast else { return nil }
            action = .keptLastBackend
            state.marks[backend].keptAsLast = true
        }
        return RollbackEvent(
            action: action, route: runtime.name, service: runtime.backends[backend].service, backend: backend,
            requests: requests, errors: errors, settings: settings)
    }

    /// Applies `changes` (backend index, weight; already checked to be 0…1000): fails when every
    /// weight would be 0. Backends given lose their marks, and a rolled-back one its window counts
    /// (failures from before the operator restored it do not roll it back again at once).
    func setWeights(_ changes: [(backend: Int, weight: Int)]) -> Result<[Int], RouteControlError> {
        state.withLock { state in
            var weights = state.weights
            for (backend, weight) in changes { weights[backend] = weight }
            guard weights.contains(where: { $0 > 0 }) else {
                return .failure(.allWeightsZero(route: name))
            }
            for (backend, _) in changes {
                if state.marks[backend].rolledBackAt != nil { state.window.reset(backend: backend) }
                state.marks[backend] = Mark()
            }
            if weights != state.weights {
                state.weights = weights
                version.bump()
            }
            return .success(weights)
        }
    }

    var weights: [Int] { state.withLock { $0.weights } }

    func report(now: ContinuousClock.Instant) -> RouteReport {
        let time = now - epoch
        let state = state.withLock { state in
            if rollback != nil { state.window.advance(to: time) }
            return state
        }
        let watched = rollback != nil
        let reports = backends.indices.map { index in
            RouteReport.Backend(
                service: backends[index].service, configuredWeight: backends[index].weight,
                weight: state.weights[index], requests: totals.requests(index),
                errors: totals.errors(index),
                windowRequests: watched ? state.window.requests[index] : nil,
                windowErrors: watched ? state.window.errors[index] : nil,
                rolledBack: state.marks[index].rolledBackAt != nil,
                rolledBackAt: state.marks[index].rolledBackAt, keptAsLastBackend: state.marks[index].keptAsLast)
        }
        return RouteReport(
            name: name, backends: reports,
            rollback: rollback.map { settings in
                RouteReport.Rollback(
                    maxErrorRate: settings.maxErrorRate, minRequests: settings.minRequests,
                    windowSeconds: settings.windowSeconds,
                    bucketSeconds: RollbackWindow.geometry(windowSeconds: settings.windowSeconds).bucketSeconds)
            })
    }
}
