import Foundation
import GeoIP
import Testing

@testable import GeoFrontCore

/// Splitting a route's requests between its backends: the shares, the stickiness and the
/// monotonicity of weighted rendezvous hashing.
@Suite struct BackendSplitTests {
    /// 10,000 distinct sticky keys (hashes of distinct cookie values).
    static let keys: [UInt64] = (0..<10_000).map { index in
        Array("user-\(index)".utf8).withUnsafeBytes { StickyHash.of($0) }
    }

    static func split(_ weights: [Int]) -> BackendSplit {
        BackendSplit(weights.enumerated().map { RouteBackend(service: "svc-\($0.offset)", weight: $0.element) })
    }

    static func assignments(_ weights: [Int]) -> [Int] {
        let split = split(weights)
        return keys.map { split.pick(stickyHash: $0)! }
    }

    static func table(sticky: String) throws -> RouteTable {
        let json = """
            {\(RoutesConfigTests.services),
             "routes": [{"name": "api", "sticky": \(sticky),
                         "backends": [{"service": "api-v1", "weight": 90}, {"service": "api-v2", "weight": 10}]}]}
            """
        return try RoutesConfigTests.parse(json).table()
    }

    // MARK: - Shares

    @Test func tenThousandClientAddressesSplitNinetyTen() throws {
        let table = try Self.table(sticky: #"{"client_ip": true}"#)
        let request = try OwnedRouteRequest(target: "/", host: "example.com")
        var canary = 0
        for index in 0..<10_000 {
            let client = IPAddress(v4: 0x0A00_0000 &+ UInt32(index))
            let choice = table.backend(route: 0, request: request, client: client, random: 0)!
            #expect(choice.stickyHash == StickyHash.of(client))
            if choice.backend == 1 { canary += 1 }
        }
        #expect((800...1200).contains(canary), "canary share \(Double(canary) / 100) %")
    }

    @Test func tenThousandCookiesSplitNinetyTen() {
        let canary = Self.assignments([90, 10]).filter { $0 == 1 }.count
        #expect((800...1200).contains(canary), "canary share \(Double(canary) / 100) %")
        let even = Self.assignments([1, 1, 1, 1]).reduce(into: [0, 0, 0, 0]) { $0[$1] += 1 }
        #expect(even.allSatisfy { (2300...2700).contains($0) }, "\(even)")
    }

    @Test func requestsWithoutAKeySplitByWeight() {
        let split = Self.split([90, 10])
        var random = TrafficSimulation.SplitMix64(seed: 7)
        let canary = (0..<10_000).filter { _ in split.pick(random: random.next()) == 1 }.count
        #expect((800...1200).contains(canary), "canary share \(Double(canary) / 100) %")
        // The random number is a point on the cumulative weights.
        #expect(split.pick(random: 0) == 0)
        #expect(split.pick(random: UInt64.max) == 1)
        #expect(split.pick(random: UInt64.max / 10 * 9 - 1_000_000) == 0)
        #expect(split.pick(random: UInt64.max / 10 * 9 + 1_000_000) == 1)
        #expect(Self.split([0, 5, 0]).pick(random: 0) == 1)
        #expect(Self.split([0, 5, 0]).pick(random: UInt64.max) == 1)
    }

    @Test func everyWeightZeroPicksNothing() throws {
        let table = try Self.table(sticky: #"{"client_ip": true}"#).withWeights([0, 0], route: 0)
        let request = try OwnedRouteRequest(target: "/", host: "example.com")
        #expect(table.backend(route: 0, request: request, client: IPAddress("192.0.2.1")!, random: 1) == nil)
        #expect(Self.split([0, 0]).pick(stickyHash: 42) == nil)
        #expect(Self.split([0, 0]).pick(random: 42) == nil)
    }

    // MARK: - Monotonicity

    @Test func raisingTheCanaryKeepsEveryClientAlreadyOnIt() {
        let before = Self.assignments([90, 10])
        for after in [Self.assignments([90, 30]), Self.assignments([70, 30])] {
            for (old, new) in zip(before, after) where old == 1 { #expect(new == 1) }
            #expect(after.filter { $0 == 1 }.count > before.filter { $0 == 1 }.count)
        }
    }

    @Test func loweringTheCanaryOnlyMovesClientsAway() {
        let before = Self.assignments([70, 30])
        let after = Self.assignments([70, 10])
        for (old, new) in zip(before, after) where new == 1 { #expect(old == 1) }
        #expect(after.filter { $0 == 1 }.count < before.filter { $0 == 1 }.count)
    }

    @Test func withThreeBackendsTheOthersNeverTradeClients() {
        let before = Self.assignments([60, 30, 10])
        let raised = Self.assignments([60, 30, 40])
        let lowered = Self.assignments([60, 30, 1])
        var movedToCanary = 0
        for index in before.indices {
            // Raising backend 2: a client either stays or moves to backend 2.
            #expect(raised[index] == before[index] || raised[index] == 2)
            // Lowering it: a client either stays or moves away from backend 2.
            #expect(lowered[index] == before[index] || before[index] == 2)
            if raised[index] != before[index] { movedToCanary += 1 }
        }
        #expect(movedToCanary > 1000)
    }

    // MARK: - Stickiness

    @Test func aStickyKeyAlwaysLandsOnTheSameBackend() throws {
        let table = try Self.table(sticky: #"{"cookie": "gf_api"}"#)
        // The same table built again (a reload) gives the same answers.
        let reloaded = try Self.table(sticky: #"{"cookie": "gf_api"}"#)
        for user in 0..<200 {
            let request = try OwnedRouteRequest(
                target: "/", host: "example.com", headers: [("Cookie", "theme=dark; gf_api=user-\(user)")])
            let first = table.backend(route: 0, request: request, client: IPAddress("192.0.2.1")!, random: 0)!
            let expectedHash = Array("user-\(user)".utf8).withUnsafeBytes { StickyHash.of($0) }
            #expect(first.stickyHash == expectedHash)
            #expect(first.backend == table.splits[0].pick(stickyHash: expectedHash))
            for random in [1, UInt64.max / 2, UInt64.max] {
                #expect(table.backend(route: 0, request: request, client: IPAddress("::1")!, random: random) == first)
                #expect(
                    reloaded.backend(route: 0, request: request, client: IPAddress("::1")!, random: random) == first)
            }
            let point = try #require(first.point)
            #expect(point >= 0 && point < 1)
        }
    }

    /// Without its cookie a request gets a new one (from `random`), picked by that cookie's hash
    /// (so by weight, as every key is), and sending the cookie back lands on the same backend.
    @Test func withoutItsCookieARequestGetsANewCookieSplitByWeight() throws {
        let table = try Self.table(sticky: #"{"cookie": "gf_api"}"#)
        let request = try OwnedRouteRequest(target: "/", host: "example.com", headers: [("Cookie", "other=1")])
        var counts = [0, 0]
        for random in 0..<UInt64(10_000) {
            let number = random &* 0x9e37_79b9_7f4a_7c15
            let choice = try #require(
                table.backend(route: 0, request: request, client: IPAddress("192.0.2.1")!, random: number))
            #expect(choice.newCookie == number)
            counts[choice.backend] += 1
            if random < 100 {
                let back = try OwnedRouteRequest(
                    target: "/", host: "example.com", headers: [("Cookie", "gf_api=\(StickyCookie.value(number))")])
                let again = table.backend(route: 0, request: back, client: IPAddress("192.0.2.9")!, random: 7)
                #expect(again?.backend == choice.backend)
                #expect(again?.newCookie == nil)
                #expect(again?.stickyHash == choice.stickyHash)
            }
        }
        #expect(abs(Double(counts[1]) / 10_000 - 0.10) < 0.02)
    }

    @Test func aStickyHeaderUsesItsFirstValue() throws {
        let table = try Self.table(sticky: #"{"header": "X-User"}"#)
        let request = try OwnedRouteRequest(
            target: "/", host: "example.com", headers: [("x-user", "alice"), ("X-User", "bob")])
        let choice = table.backend(route: 0, request: request, client: IPAddress("192.0.2.1")!, random: 0)
        #expect(choice?.stickyHash == Array("alice".utf8).withUnsafeBytes { StickyHash.of($0) })
    }

    @Test func aRuntimeWeightChangeKeepsTheRestInPlace() throws {
        let table = try Self.table(sticky: #"{"client_ip": true}"#)
        let raised = table.withWeights([70, 30], route: 0)
        #expect(raised.splits[0].weights == [70, 30])
        #expect(table.splits[0].weights == [90, 10])
        let request = try OwnedRouteRequest(target: "/", host: "example.com")
        for index in 0..<2000 {
            let client = IPAddress(v4: 0xC000_0200 &+ UInt32(index))
            let old = table.backend(route: 0, request: request, client: client, random: 0)!
            let new = raised.backend(route: 0, request: request, client: client, random: 0)!
            if old.backend == 1 { #expect(new.backend == 1) }
            #expect(old.stickyHash == new.stickyHash)
        }
    }

    @Test func hashPointsSpreadOverTheUnitInterval() {
        let points = Self.keys.map(StickyHash.point)
        #expect(points.allSatisfy { $0 >= 0 && $0 < 1 })
        let lowHalf = points.filter { $0 < 0.5 }.count
        #expect((4800...5200).contains(lowHalf))
        #expect(StickyHash.point(0) == 0)
        #expect(StickyHash.point(UInt64.max) < 1)
    }
}
