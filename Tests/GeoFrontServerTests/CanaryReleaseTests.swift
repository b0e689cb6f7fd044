import Foundation
import GeoFrontCore
import TestSupport
import Testing

/// A canary's life over loopback: raised by a reload, by the admin API, rolled back.
@Suite(.serialized, .timeLimit(.minutes(5))) struct CanaryReleaseTests {
    static let users = 0..<2000

    /// 10 % → 30 % by a reload: every user on the canary stays there, about 30 % are there after.
    @Test func raisingTheCanaryByReloadKeepsEveryCanaryUser() async throws {
        let rig = try await CanaryRig(stable: 90, canary: 10)
        let before = try await offThePool { try rig.backends(users: Self.users) }
        let onCanary = Set(before.filter { $0.value == "canary" }.keys)
        #expect(abs(Double(onCanary.count) / Double(Self.users.count) - 0.10) < 0.03)
        #expect(try await offThePool { try rig.reload(stable: 70, canary: 30)["ok"] as? Bool } == true)
        let after = try await offThePool { try rig.backends(users: Self.users) }
        #expect(onCanary.allSatisfy { after[$0] == "canary" })
        #expect(abs(Double(after.values.filter { $0 == "canary" }.count) / Double(Self.users.count) - 0.30) < 0.04)
        // And back down to 10 %: only canary users move, back to where they were.
        #expect(try await offThePool { try rig.reload(stable: 90, canary: 10)["ok"] as? Bool } == true)
        #expect(try await offThePool { try rig.backends(users: Self.users) } == before)
        try await rig.stop()
    }

    /// 10 % → 50 % with the admin API: every canary user stays; a reload that leaves the route's
    /// backends alone keeps 50 %, one that changes them brings the file's weights back.
    @Test func raisingTheCanaryAtRuntimeKeepsEveryCanaryUserUntilTheFileChanges() async throws {
        let rig = try await CanaryRig(stable: 90, canary: 10)
        let before = try await offThePool { try rig.backends(users: Self.users) }
        let onCanary = Set(before.filter { $0.value == "canary" }.keys)
        let set = try await offThePool {
            try rig.admin("PUT", "/routes/api/weights", body: #"{"stable": 50, "canary": 50}"#).status
        }
        #expect(set == 200)
        let after = try await offThePool { try rig.backends(users: Self.users) }
        #expect(onCanary.allSatisfy { after[$0] == "canary" })
        let share = Double(after.values.filter { $0 == "canary" }.count) / Double(Self.users.count)
        #expect(abs(share - 0.50) < 0.05)
        let routes = try await offThePool { try Self.backendsReport(rig) }
        #expect(routes.map(\.weight) == [50, 50])
        #expect(routes.map(\.configured) == [90, 10])
        #expect(routes.map(\.requests).reduce(0, +) >= 2 * Self.users.count)

        // A reload that leaves the backends alone keeps the runtime weights.
        #expect(try await offThePool { try rig.reload(stable: 90, canary: 10)["ok"] as? Bool } == true)
        #expect(try await offThePool { try Self.backendsReport(rig) }.map(\.weight) == [50, 50])
        #expect(try await offThePool { try rig.backends(users: Self.users) } == after)
        // One that changes them replaces the route: the file's 80/20, and only canary users moved.
        #expect(try await offThePool { try rig.reload(stable: 80, canary: 20)["ok"] as? Bool } == true)
        #expect(try await offThePool { try Self.backendsReport(rig) }.map(\.weight) == [80, 20])
        let lowered = try await offThePool { try rig.backends(users: Self.users) }
        #expect(lowered.filter { $0.value == "canary" }.keys.allSatisfy { after[$0] == "canary" })
        #expect(lowered.filter { $0.value == "stable" }.count > after.filter { $0.value == "stable" }.count)

        // Refusals name the problem and change nothing.
        let refusals = try await offThePool {
            [
                try rig.admin("PUT", "/routes/apl/weights", body: #"{"stable": 1}"#).status,
                try rig.admin("PUT", "/routes/api/weights", body: #"{"stabel": 1}"#).status,
                try rig.admin("PUT", "/routes/api/weights", body: #"{"stable": 0, "canary": 0}"#).status,
                try rig.admin("PUT", "/routes/api/weights", body: #"{"stable": 1001}"#).status,
                try rig.admin("PUT", "/routes/api/weights", body: "not json").status,
                try rig.admin("GET", "/routes/api/weights").status,
            ]
        }
        #expect(refusals == [404, 400, 400, 400, 400, 405])
        #expect(try await offThePool { try Self.backendsReport(rig) }.map(\.weight) == [80, 20])
        let page = try await offThePool { String(decoding: try rig.admin("GET", "/").body, as: UTF8.self) }
        #expect(page.contains("<h2>Routes</h2>"))
        try await rig.stop()
    }

    /// A canary answering 500s is rolled back within its window; a healthy one under the same
    /// load is not.
    @Test func aFailingCanaryIsRolledBackAndAHealthyOneIsNot() async throws {
        let rollback = #"{"max_error_rate": 0.05, "min_requests": 20, "window_s": 60}"#
        let failing = try await CanaryRig(stable: 50, canary: 50, canaryBehaviour: .status(500), rollback: rollback)
        let healthy = try await CanaryRig(stable: 50, canary: 50, rollback: rollback)
        for rig in [failing, healthy] {
            let seen = try await offThePool { try rig.backends(users: 0..<400) }
            #expect(seen.count == 400)
        }
        let failed = try await offThePool { try Self.backendsReport(failing) }
        #expect(failed.map(\.weight) == [50, 0])
        #expect(failed.map(\.rolledBack) == [false, true])
        // Within one window: the rollback came once the canary had its minimum, long before the
        // 400 requests (about 200 of them its share) were over.
        #expect(failed[1].requests < 100)
        let after = try await offThePool { try failing.backends(users: 400..<600) }
        #expect(after.values.allSatisfy { $0 == "stable" })
        let metrics = try await offThePool {
            String(decoding: try failing.admin("GET", "/metrics").body, as: UTF8.self)
        }
        #expect(metrics.contains(#"geofront_route_rollbacks_total{route="api",backend="canary"} 1"#))

        let fine = try await offThePool { try Self.backendsReport(healthy) }
        #expect(fine.map(\.weight) == [50, 50])
        #expect(fine.map(\.rolledBack) == [false, false])
        #expect(fine[1].requests > 100)

        // An operator restores the canary.
        #expect(
            try await offThePool { try failing.admin("PUT", "/routes/api/weights", body: #"{"canary": 10}"#).status }
                == 200)
        #expect(try await offThePool { try Self.backendsReport(failing) }.map(\.rolledBack) == [false, false])
        try await failing.stop()
        try await healthy.stop()
    }

    struct BackendReport: Sendable {
        var weight: Int
        var configured: Int
        var requests: Int
        var rolledBack: Bool
    }

    /// `GET /routes`' backends of the route `api`.
    static func backendsReport(_ rig: CanaryRig) throws -> [BackendReport] {
        let routes = try rig.adminJSON("GET", "/routes")["routes"] as? [[String: Any]] ?? []
        let api = routes.first { $0["name"] as? String == "api" }
        return (api?["backends"] as? [[String: Any]] ?? []).map { backend in
            BackendReport(
                weight: backend["weight"] as? Int ?? -1, configured: backend["configured_weight"] as? Int ?? -1,
                requests: backend["requests"] as? Int ?? -1, rolledBack: backend["rolled_back"] as? Bool ?? false)
        }
    }
}
