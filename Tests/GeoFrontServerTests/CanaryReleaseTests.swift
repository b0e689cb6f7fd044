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
}
