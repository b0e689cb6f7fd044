import Foundation
import GeoFrontCore
import TestSupport
import Testing

/// Canary splits over loopback: shares by weight, and sticky cookies that keep a client on its
/// backend.
@Suite(.serialized) struct CanarySplitTests {
    static var services: [String: (regions: [String], extra: [String: Any])] {
        ["stable": (["eu-central"], [:]), "canary": (["eu-central"], [:])]
    }

    static func route(sticky: [String: Any]?, stable: Int = 90, canary: Int = 10) -> [String: Any] {
        var route: [String: Any] = [
            "name": "api",
            "backends": [["service": "stable", "weight": stable], ["service": "canary", "weight": canary]],
        ]
        if let sticky { route["sticky"] = sticky }
        return route
    }

    /// The address of client `index` (10.0.0.0/8: not in the database, so every one of them is
    /// routed to the default region, and only the split differs).
    static func address(_ index: Int) -> String {
        "10.\(index >> 16 & 255).\(index >> 8 & 255).\(index & 255)"
    }

    /// Requests from `count` distinct clients, pipelined in batches; a client whose connection
    /// the server closed reconnects and sends again what was not answered: how many the canary
    /// answered.
    static func canaryShare(_ rig: RoutesRig, count: Int) throws -> Double {
        var client = try rig.client()
        var canary = 0
        var next = 0
        while next < count {
            let batch = next..<min(count, next + 100)
            let requests = batch.map { index in
                "GET / HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: \(address(index))\r\n\r\n"
            }
            _ = client.send(requests.joined())
            for _ in batch {
                let response: RawHTTPResponse
                do {
                    response = try client.readResponse()
                } catch let error as RawHTTPError where error.closedBeforeResponse {
                    client = try rig.client()
                    break
                }
                if response.status != 200 { throw RawHTTPError("status \(response.status)") }
                if response.upstreamName == "canary@eu-central" { canary += 1 }
                next += 1
            }
        }
        return Double(canary) / Double(count)
    }

    @Test func tenThousandDistinctClientsSplitNinetyTenByWeight() async throws {
        let rig = try await RoutesRig(services: Self.services, routes: [Self.route(sticky: nil)])
        defer { Task { try await rig.stop() } }
        let share = try await offThePool { try Self.canaryShare(rig, count: 10_000) }
        #expect(abs(share - 0.10) <= 0.02, "canary share \(share)")
    }

    @Test func tenThousandDistinctClientsSplitNinetyTenByClientAddress() async throws {
        let rig = try await RoutesRig(services: Self.services, routes: [Self.route(sticky: ["client_ip": true])])
        defer { Task { try await rig.stop() } }
        let share = try await offThePool { try Self.canaryShare(rig, count: 10_000) }
        #expect(abs(share - 0.10) <= 0.02, "canary share \(share)")
    }

    /// A first request gets the cookie; every repeat that sends it back lands on the same
    /// backend (100 %), and both backends have clients.
    @Test func stickyCookiesKeepEveryRepeatOnItsBackend() async throws {
        let rig = try await RoutesRig(
            services: Self.services,
            routes: [Self.route(sticky: ["cookie": "gf_api", "max_age_s": 86400], stable: 50, canary: 50)])
        defer { Task { try await rig.stop() } }
        let users = try await offThePool { try Self.stickyUsers(rig) }
        for user in users {
            let setCookie = try #require(user.setCookie)
            #expect(setCookie.hasSuffix("; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400"))
            let cookie = try #require(setCookie.split(separator: ";").first)
            #expect(cookie.hasPrefix("gf_api=") && cookie.count == "gf_api=".count + 16)
            #expect(user.repeats.allSatisfy { $0.backend == user.backend && $0.setCookie == nil })
        }
        #expect(Set(users.compactMap(\.backend)) == ["stable@eu-central", "canary@eu-central"])
    }

    /// What one user saw: the first answer's backend and `Set-Cookie`, and per repeat (sent
    /// with that cookie) the backend and any `Set-Cookie`.
    struct StickyUser: Sendable {
        var backend: String?
        var setCookie: String?
        var repeats: [(backend: String?, setCookie: String?)] = []
    }

    /// 60 first requests, each followed by 20 repeats with its cookie, from other addresses and
    /// among other cookies (so the cookie alone decides). Blocking: run off the pool; the test
    /// checks what it returns.
    static func stickyUsers(_ rig: RoutesRig) throws -> [StickyUser] {
        let client = try rig.client()
        var users: [StickyUser] = []
        for user in 0..<60 {
            let first = try rig.send("/", as: Self.address(user), on: client)
            var seen = StickyUser(backend: first.upstreamName, setCookie: first.header("set-cookie"))
            let cookie = seen.setCookie?.split(separator: ";").first.map(String.init) ?? "none=1"
            for repeatIndex in 0..<20 {
                let again = try rig.send(
                    "/", headers: ["Cookie: theme=dark; \(cookie); lang=en"], as: Self.address(1000 + repeatIndex),
                    on: client)
                seen.repeats.append((again.upstreamName, again.header("set-cookie")))
            }
            users.append(seen)
        }
        return users
    }
}
