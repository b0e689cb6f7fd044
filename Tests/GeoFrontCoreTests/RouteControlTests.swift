import Dispatch
import Foundation
import Testing

@testable import GeoFrontCore

@Suite struct RouteControlTests {
    static func route(
        _ name: String = "api", _ backends: [(String, Int)] = [("api-v1", 90), ("api-v2", 10)],
        rollback: RollbackSettings? = nil
    ) -> RouteConfig {
        RouteConfig(name: name, backends: backends.map { RouteBackend(service: $0, weight: $1) }, rollback: rollback)
    }

    /// 10 % errors at most, over at least 20 requests in 10 s.
    static let rollback = RollbackSettings(maxErrorRate: 0.1, minRequests: 20, windowSeconds: 10)

    static func seconds(_ value: Double) -> Duration { .milliseconds(Int64((value * 1000).rounded())) }

    static func error(_ result: Result<[Int], RouteControlError>) -> RouteControlError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    // MARK: - Weights

    @Test func setWeightsRefusesAnUnknownRouteWithASuggestion() {
        let control = RouteControl(routes: [Self.route("api"), Self.route("web")])
        let error = Self.error(control.setWeights(route: "apu", ["api-v1": 1]))
        #expect(error == .unknownRoute("apu", routes: ["api", "web"]))
        #expect(error?.description == "\"apu\" is not a route (did you mean \"api\"?)")
        let far = Self.error(control.setWeights(route: "checkout", ["api-v1": 1]))
        #expect(far?.description == "\"checkout\" is not a route; routes are: api, web")
    }

    @Test func setWeightsRefusesAServiceThatIsNotABackendOfTheRoute() {
        let control = RouteControl(routes: [Self.route()])
        let error = Self.error(control.setWeights(route: "api", ["api-v1": 50, "api-v3": 50]))
        #expect(error == .unknownService("api-v3", route: "api", services: ["api-v1", "api-v2"]))
        #expect(error?.description == "\"api-v3\" is not a backend of route \"api\" (did you mean \"api-v1\"?)")
        let far = Self.error(control.setWeights(route: "api", ["checkout": 50]))
        #expect(far?.description == "\"checkout\" is not a backend of route \"api\"; its backends are: api-v1, api-v2")
        #expect(control.currentWeights() == [[90, 10]])
    }

    @Test(arguments: [-1, 1001, Int.max])
    func setWeightsRefusesAWeightOutOfRange(weight: Int) {
        let control = RouteControl(routes: [Self.route()])
        let error = Self.error(control.setWeights(route: "api", ["api-v1": 50, "api-v2": weight]))
        #expect(error == .weightOutOfRange(weight, service: "api-v2", route: "api"))
        #expect(error?.description == "route \"api\": the weight of \"api-v2\" is \(weight), outside 0…1000")
        #expect(control.currentWeights() == [[90, 10]])
    }

    @Test func setWeightsRefusesLeavingEveryBackendAtZero() {
        let control = RouteControl(routes: [Self.route()])
        let version = control.version
        let error = Self.error(control.setWeights(route: "api", ["api-v1": 0, "api-v2": 0]))
        #expect(error == .allWeightsZero(route: "api"))
        #expect(error?.description.contains("at least one needs a weight above 0") == true)
        // Partly: api-v2 is already 0, so api-v1 cannot go.
        #expect(control.setWeights(route: "api", ["api-v2": 0]) == .success([90, 0]))
        #expect(Self.error(control.setWeights(route: "api", ["api-v1": 0])) == .allWeightsZero(route: "api"))
        #expect(Self.error(control.setWeights(route: "api", [:])) == .noWeights(route: "api"))
        #expect(control.currentWeights() == [[90, 0]])
        #expect(control.version == version + 1)
    }

    @Test func setWeightsChangesOnlyTheServicesGiven() {
        let control = RouteControl(
            routes: [Self.route("web", [("web", 1)]), Self.route("api", [("a", 80), ("b", 10), ("c", 10)])])
        let version = control.version
        #expect(control.setWeights(route: "api", ["b": 30, "c": 0]) == .success([80, 30, 0]))
        #expect(control.currentWeights() == [[1], [80, 30, 0]])
        #expect(control.version == version + 1)
        // The same weights again change nothing.
        #expect(control.setWeights(route: "api", ["b": 30]) == .success([80, 30, 0]))
        #expect(control.version == version + 1)
        let report = control.report()[1]
        #expect(report.backends.map(\.configuredWeight) == [80, 10, 10])
        #expect(report.backends.map(\.weight) == [80, 30, 0])
        // The table the publisher builds from them.
        let table = RouteTable(routes: control.routes).withWeights(control.currentWeights()[1], route: 1)
        #expect(table.splits[1].weights == [80, 30, 0])
    }

    @Test func parseWeightsReadsAnObjectOfIntegers() throws {
        #expect(
            try RouteControl.parseWeights(Data(#"{"api-v1": 70, "api-v2": 30}"#.utf8)).get() == [
                "api-v1": 70, "api-v2": 30,
            ])
        let cases = [
            (#"{"api-v1": 70.5}"#, #""api-v1": 70.5 is not a weight (an integer 0…1000)"#),
            (#"{"api-v1": "70"}"#, #""api-v1": "70" is not a weight (an integer 0…1000)"#),
            (#"[70, 30]"#, #"expected an object of weights, e.g. {"api-v1": 90, "api-v2": 10}, not an array"#),
        ]
        for (body, message) in cases {
            guard case .failure(let error) = RouteControl.parseWeights(Data(body.utf8)) else {
                Issue.record("\(body) was accepted")
                continue
            }
            #expect(error.description == message)
        }
        guard case .failure(.malformed(let reason)) = RouteControl.parseWeights(Data("{".utf8)) else {
            Issue.record("a truncated body was accepted")
            return
        }
        #expect(reason.hasPrefix("malformed JSON"))
    }

    // MARK: - Reload

    @Test func reloadKeepsRoutesWhoseBackendsAreUnchangedAndReplacesTheOthers() {
        let start = ContinuousClock.now
        let old = RouteControl(routes: [
            Self.route("kept"), Self.route("reweighted"), Self.route("renamed-service"), Self.route("gone"),
        ])
        for route in 0..<4 {
            #expect(old.setWeights(route: old.routes[route].name, ["api-v2": 50]) == .success([90, 50]))
            _ = old.record(route: route, backend: 1, failed: true, now: start)
        }
        let version = old.version
        let new = RouteControl(
            routes: [
                Self.route("new"),
                Self.route("renamed-service", [("api-v1", 90), ("api-v3", 10)]),
                Self.route("reweighted", [("api-v1", 80), ("api-v2", 20)]),
                // Other matching, same backends: kept.
                RouteConfig(
                    name: "kept", match: RouteMatch(hosts: [.exact("api.example.com")]),
                    backends: Self.route().backends),
            ], carryingOver: old)
        #expect(new.currentWeights() == [[90, 10], [90, 10], [80, 20], [90, 50]])
        #expect(new.report().map { $0.backends[1].errors } == [0, 0, 0, 1])
        #expect(new.version > version)
        // Both see outcomes of the route they share (requests under way during the reload).
        _ = old.record(route: 0, backend: 0, failed: false, now: start)
        #expect(new.report()[3].backends[0].requests == 1)
    }

    @Test func reloadWithOtherRollbackSettingsKeepsWeightsMarksAndTotals() {
        let start = ContinuousClock.now
        let old = RouteControl(routes: [Self.route(rollback: Self.rollback)])
        for step in 0..<20 {
            _ = old.record(route: 0, backend: 1, failed: true, now: start + .milliseconds(100 * step))
        }
        #expect(old.currentWeights() == [[90, 0]])
        var settings = Self.rollback
        settings.maxErrorRate = 0.5
        let new = RouteControl(routes: [Self.route(rollback: settings)], carryingOver: old)
        let report = new.report(now: start + .seconds(2))[0]
        #expect(report.backends[1].weight == 0)
        #expect(report.backends[1].rolledBack)
        #expect(report.backends[1].requests == 20)
        #expect(report.backends[1].windowRequests == 20)  // the same window_s: the window too
        #expect(report.rollback?.maxErrorRate == 0.5)
        settings.windowSeconds = 30
        let longer = RouteControl(routes: [Self.route(rollback: settings)], carryingOver: new)
        #expect(longer.report(now: start + .seconds(2))[0].backends[1].windowRequests == 0)
        #expect(longer.currentWeights() == [[90, 0]])
        let without = RouteControl(routes: [Self.route()], carryingOver: longer)
        #expect(without.report()[0].backends[1].windowRequests == nil)
        #expect(without.report()[0].backends[1].rolledBack)
    }

    // MARK: - Rollback

    /// 10 requests a second to each backend, in step: `failing(backend, step)` says which fail.
    /// Returns the events with the step they came at.
    static func traffic(
        _ control: RouteControl, from start: ContinuousClock.Instant, seconds: Int,
        failing: (Int, Int) -> Bool
    ) -> [(step: Int, event: RollbackEvent)] {
        var events: [(Int, RollbackEvent)] = []
        let backends = control.routes[0].backends.count
        for step in 0..<(seconds * 10) {
            let now = start + .milliseconds(100 * step)
            for backend in 0..<backends {
                if let event = control.record(
                    route: 0, backend: backend, failed: failing(backend, step), now: now)
                {
                    events.append((step, event))
                }
            }
        }
        return events
    }

    @Test func aFailingBackendIsRolledBackWithinOneWindowOnce() throws {
        let start = ContinuousClock.now
        let control = RouteControl(routes: [Self.route(rollback: Self.rollback)])
        let version = control.version
        let events = Self.traffic(control, from: start, seconds: 30) { backend, _ in backend == 1 }
        #expect(events.count == 1)
        let (step, event) = try #require(events.first)
        #expect(step == 19)  // its 20th request, after 1.9 s
        #expect(event.action == .rolledBack)
        #expect(event.route == "api" && event.service == "api-v2" && event.backend == 1)
        #expect(event.requests == 20 && event.errors == 20 && event.errorRate == 1)
        #expect(
            event.description
                == "route \"api\": backend \"api-v2\" rolled back to weight 0: 20 of 20 requests failed in the "
                + "last 10 s (100 %, over max_error_rate 10 %); it stays at 0 until its weight is set again or "
                + "a reload changes the route's backends")
        #expect(control.currentWeights() == [[90, 0]])
        #expect(control.version == version + 1)
        let report = control.report(now: start + .seconds(30))[0]
        #expect(report.backends[1].rolledBack)
        #expect(report.backends[1].rolledBackAt != nil)
        #expect(report.backends[1].requests == 300 && report.backends[1].errors == 300)
        #expect(report.backends[0].rolledBack == false)
        #expect(
            report.rollback
                == RouteReport.Rollback(maxErrorRate: 0.1, minRequests: 20, windowSeconds: 10, bucketSeconds: 1))
    }

    @Test func anOperatorRestoresARolledBackBackendWithAFreshWindow() {
        let start = ContinuousClock.now
        let control = RouteControl(routes: [Self.route(rollback: Self.rollback)])
        #expect(Self.traffic(control, from: start, seconds: 3) { backend, _ in backend == 1 }.count == 1)
        #expect(control.setWeights(route: "api", ["api-v2": 5]) == .success([90, 5]))
        var report = control.report(now: start + .seconds(3))[0].backends[1]
        #expect(!report.rolledBack && report.rolledBackAt == nil)
        #expect(report.windowRequests == 0)  // the failures before the restore are forgotten
        // Healthy now: stays.
        let later = start + .seconds(3)
        #expect(Self.traffic(control, from: later, seconds: 20) { _, _ in false }.isEmpty)
        // Failing again: a second rollback, a second event.
        let events = Self.traffic(control, from: later + .seconds(20), seconds: 20) { backend, _ in backend == 1 }
        #expect(events.map(\.event.action) == [.rolledBack])
        report = control.report(now: later + .seconds(40))[0].backends[1]
        #expect(report.rolledBack && report.weight == 0)
    }

    @Test func healthyBackendsAreNeverRolledBack() {
        let start = ContinuousClock.now
        let control = RouteControl(routes: [Self.route(rollback: Self.rollback)])
        #expect(Self.traffic(control, from: start, seconds: 50) { _, _ in false }.isEmpty)
        // Just under the threshold: one request in 12 fails (8.3 %; at most 9 in a window, which
        // then holds at least 97 requests: 9.3 %).
        let events = Self.traffic(control, from: start + .seconds(50), seconds: 50) { _, step in step % 12 == 11 }
        #expect(events.isEmpty)
        #expect(control.currentWeights() == [[90, 10]])
        let report = control.report(now: start + .seconds(100))[0]
        #expect(report.backends.map(\.errors) == [41, 41])
        #expect(report.backends.allSatisfy { !$0.rolledBack && !$0.keptAsLastBackend })
    }

    @Test func fewerThanMinRequestsNeverRollBack() {
        let start = ContinuousClock.now
        let control = RouteControl(routes: [Self.route(rollback: Self.rollback)])
        // Every request fails, but only 19 in any 10 s (one every 0.55 s: 19 of them span 9.9 s).
        for step in 0..<200 {
            let now = start + .milliseconds(550 * step)
            #expect(control.record(route: 0, backend: 1, failed: true, now: now) == nil)
        }
        #expect(control.currentWeights() == [[90, 10]])
    }

    @Test func oldFailuresSlideOutOfTheWindow() {
        let start = ContinuousClock.now
        var settings = Self.rollback
        settings.maxErrorRate = 0.5
        let control = RouteControl(routes: [Self.route(rollback: settings)])
        // 19 failures in the first 1.9 s: under min_requests.
        for step in 0..<19 {
            #expect(control.record(route: 0, backend: 1, failed: true, now: start + .milliseconds(100 * step)) == nil)
        }
        #expect(control.report(now: start + .seconds(9))[0].backends[1].windowErrors == 19)
        #expect(control.report(now: start + .seconds(11))[0].backends[1].windowErrors == 0)
        // Two windows later, 10 successes and 5 failures: with the old ones that would be 24 of
        // 34 (71 %); without them, 15 requests, under min_requests.
        let later = start + .seconds(20)
        for step in 0..<15 {
            let failed = step >= 10
            #expect(control.record(route: 0, backend: 1, failed: failed, now: later + .milliseconds(10 * step)) == nil)
        }
        let report = control.report(now: later + .seconds(1))[0].backends[1]
        #expect(report.windowRequests == 15 && report.windowErrors == 5)
        #expect(report.requests == 34 && report.errors == 24)
        #expect(control.currentWeights() == [[90, 10]])
        // The same within one window does roll back.
        let again = RouteControl(routes: [Self.route(rollback: settings)])
        for step in 0..<19 {
            _ = again.record(route: 0, backend: 1, failed: true, now: start + .milliseconds(100 * step))
        }
        let events = (0..<15).compactMap { step in
            again.record(route: 0, backend: 1, failed: step >= 10, now: start + .seconds(5) + .milliseconds(10 * step))
        }
        #expect(events.map(\.action) == [.rolledBack])
    }

    @Test func theLastBackendWithAWeightIsKept() throws {
        let start = ContinuousClock.now
        let single = RouteControl(routes: [Self.route("web", [("web", 1)], rollback: Self.rollback)])
        let version = single.version
        let events = Self.traffic(single, from: start, seconds: 30) { _, _ in true }
        #expect(events.map(\.event.action) == [.keptLastBackend])
        let event = try #require(events.first?.event)
        #expect(
            event.description
                == "route \"web\": backend \"web\" would be rolled back: 20 of 20 requests failed in the last 10 s "
                + "(100 %, over max_error_rate 10 %); kept, as it is the last backend with a weight above 0")
        #expect(single.currentWeights() == [[1]])
        #expect(single.version == version)
        var report = single.report(now: start + .seconds(30))[0].backends[0]
        #expect(report.keptAsLastBackend && !report.rolledBack)
        // Recovered (to half the threshold), then failing again: reported again.
        let later = start + .seconds(30)
        #expect(Self.traffic(single, from: later, seconds: 20) { _, _ in false }.isEmpty)
        report = single.report(now: later + .seconds(20))[0].backends[0]
        #expect(!report.keptAsLastBackend)
        let again = Self.traffic(single, from: later + .seconds(20), seconds: 10) { _, _ in true }
        #expect(again.map(\.event.action) == [.keptLastBackend])

        // Both failing: the first to cross goes, the other stays.
        let both = RouteControl(routes: [Self.route(rollback: Self.rollback)])
        let bothEvents = Self.traffic(both, from: start, seconds: 30) { _, _ in true }
        #expect(bothEvents.map(\.event.action) == [.rolledBack, .keptLastBackend])
        #expect(bothEvents.map(\.event.service) == ["api-v1", "api-v2"])
        #expect(both.currentWeights() == [[0, 10]])

        // A backend at weight 0 does not count as one left.
        let zero = RouteControl(routes: [Self.route("api", [("a", 1), ("b", 0)], rollback: Self.rollback)])
        #expect(Self.traffic(zero, from: start, seconds: 5) { _, _ in true }.map(\.event.action) == [.keptLastBackend])
        #expect(zero.currentWeights() == [[1, 0]])
    }

    @Test func windowGranularity() {
        #expect(RollbackWindow.geometry(windowSeconds: 1) == (1, 1))
        #expect(RollbackWindow.geometry(windowSeconds: 10) == (1, 10))
        #expect(RollbackWindow.geometry(windowSeconds: 60) == (1, 60))
        #expect(RollbackWindow.geometry(windowSeconds: 61) == (2, 31))
        #expect(RollbackWindow.geometry(windowSeconds: 3600) == (60, 60))
        #expect(RollbackWindow.geometry(windowSeconds: 86_400) == (1440, 60))
    }

    @Test func windowCountsOutcomesForBetweenWindowMinusABucketAndTheWindow() {
        let start = Duration.seconds(-3)  // times may come before the owner's epoch
        var window = RollbackWindow(windowSeconds: 10, backends: 1)
        window.add(backend: 0, failed: true, at: start)  // the origin: bucket 0 starts here
        window.add(backend: 0, failed: false, at: start + Self.seconds(0.999))
        window.advance(to: start + Self.seconds(9.999))
        #expect(window.requests == [2] && window.errors == [1])
        window.advance(to: start + .seconds(10))
        #expect(window.requests == [0] && window.errors == [0])
        // A time the window already left is not counted; one still in it is (out of order).
        window.add(backend: 0, failed: true, at: start)
        window.add(backend: 0, failed: true, at: start + .seconds(1))
        #expect(window.requests == [1])
        window.add(backend: 0, failed: false, at: start + .seconds(11))
        #expect(window.requests == [1])  // bucket 1 has left
        // A jump far ahead clears everything once.
        window.advance(to: start + .seconds(1000))
        #expect(window.requests == [0])
        // Long windows: 2 s buckets.
        var long = RollbackWindow(windowSeconds: 120, backends: 2)
        long.add(backend: 1, failed: true, at: .zero)
        long.advance(to: .seconds(119))
        #expect(long.requests == [0, 1] && long.errors == [0, 1])
        long.advance(to: .seconds(120))
        #expect(long.requests == [0, 0] && long.errors == [0, 0])
    }

    // MARK: - Concurrency

    @Test func countsFromManyThreadsAddUp() {
        let never = RollbackSettings(maxErrorRate: 1, minRequests: 1, windowSeconds: 10)
        let control = RouteControl(routes: [Self.route("plain"), Self.route("watched", rollback: never)])
        let start = ContinuousClock.now
        let perThread = 5000
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for index in 0..<perThread {
                let now = start + .milliseconds(index)
                for route in 0..<2 {
                    _ = control.record(route: route, backend: index % 2, failed: index % 3 == 0, now: now)
                }
            }
        }
        let backendRequests = UInt64(8 * perThread / 2)
        func errors(_ backend: Int) -> UInt64 {
            UInt64(8 * (0..<perThread).filter { $0 % 2 == backend && $0 % 3 == 0 }.count)
        }
        for report in control.report(now: start + .milliseconds(perThread)) {
            #expect(report.backends[0].requests == backendRequests)
            #expect(report.backends[1].requests == backendRequests)
            #expect(report.backends[0].errors == errors(0))
            #expect(report.backends[1].errors == errors(1))
        }
        // The last 5 s of the 5 s run, from every thread.
        let window = control.report(now: start + .milliseconds(perThread))[1].backends
        #expect(window.map(\.windowRequests) == [Int(backendRequests), Int(backendRequests)])
        #expect(window.map(\.windowErrors) == [Int(errors(0)), Int(errors(1))])
    }
}
