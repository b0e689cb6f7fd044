import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Fleet mode's shared health, end to end: a real etcd, real `geofront serve` processes and one
/// health-check target on loopback that fails the checks of chosen instances (it reads their
/// `User-Agent: GeoFront-HealthCheck/ID`), so each instance has a view of its own. The client
/// (127.0.0.1, not in the database) goes to `default_region` `near` while it is available, else
/// to `far`, which is not checked.
@Suite(.serialized, .timeLimit(.minutes(3))) struct FleetHealthTests {
    static func config(targetPort: Int, quorum: Double?) -> String {
        let quorumField = quorum.map { ", \"quorum\": \($0)" } ?? ""
        return """
            {"listen": "127.0.0.1:0", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "server": {"threads": 1}, "admin": {"listen": "127.0.0.1:0"}, "default_region": "near",
             "health_check": {"interval_ms": 100, "timeout_ms": 80, "rise": 1, "fall": 1\(quorumField)},
             "regions": [
              {"name": "near", "location": {"latitude": 0, "longitude": 0}, "redirect_url": "https://near.example.test",
               "targets": ["127.0.0.1:\(targetPort)"]},
              {"name": "far", "location": {"latitude": 10, "longitude": 10}, "redirect_url": "https://far.example.test",
               "health_check": false}]}
            """
    }

    static func startFleet(_ etcd: EtcdServer, names: [String]) throws -> [String: ServeProcess] {
        var started: [String: ServeProcess] = [:]
        do {
            for name in names {
                started[name] = try ServeProcess(configPath: etcd.url, admin: true, arguments: ["--instance-id", name])
            }
        } catch {
            for serve in started.values { serve.stop() }
            throw error
        }
        return started
    }

    /// The region `serve` sends the client to: `near` or `far`.
    static func region(_ serve: ServeProcess) throws -> String? {
        try FleetEtcdTests.target(serve).map { String($0.prefix { $0 != "." }) }
    }

    static func admin(_ serve: ServeProcess, _ path: String) throws -> String {
        let response = try RawHTTPClient(port: serve.adminPort).exchange(
            "GET \(path) HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        return String(decoding: response.body, as: UTF8.self)
    }

    /// Waits until every instance named has voted on the one target, as `down` says.
    static func waitForVotes(_ etcd: EtcdServer, _ expected: [String: Bool]) async throws {
        try await waitUntil("the votes in etcd to be \(expected)") {
            let votes = try await offThePool { try etcd.healthVotes() }
            return votes.keys.sorted() == expected.keys.sorted()
                && expected.allSatisfy { name, up in votes[name]?.count == 1 && votes[name]?.values.first == up }
        }
    }

    static func waitForRegions(_ fleet: [String: ServeProcess], _ region: String, _ why: String) async throws {
        try await waitUntil("every instance to route to \(region): \(why)") {
            try await offThePool { try fleet.values.allSatisfy { try Self.region($0) == region } }
        }
    }

    @Test func quorumOfTwoInThreeKeepsATargetUpForOneAndTakesItDownForTwo() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let target = try HealthTargetServer(.status(200))
        defer { target.shutdown() }
        let etcd = try await offThePool { try EtcdServer(folder: folder.path) }
        defer { etcd.stop() }
        _ = try await offThePool { try etcd.put("config", Self.config(targetPort: target.port, quorum: 0.66)) }
        let fleet = try await offThePool { try Self.startFleet(etcd, names: ["q-a", "q-b", "q-c"]) }
        defer { for serve in fleet.values { serve.stop() } }
        try await Self.waitForVotes(etcd, ["q-a": true, "q-b": true, "q-c": true])
        try await Self.waitForRegions(fleet, "near", "the target is up")

        // Only q-a sees it down: 1 of 3 is below the quorum, so all three, q-a too, keep routing to near.
        target.behaviour = .failing(userAgents: ["/q-a"])
        try await Self.waitForVotes(etcd, ["q-a": false, "q-b": true, "q-c": true])
        let oneOfThree = "up: 1 of 3 instances see it down, quorum 0.66"
        try await waitUntil("every instance to count q-a's vote") {
            try await offThePool { try fleet.values.allSatisfy { try Self.admin($0, "/status").contains(oneOfThree) } }
        }
        for serve in fleet.values { #expect(try await offThePool { try Self.region(serve) } == "near") }
        let route = try await offThePool { try Self.admin(fleet["q-a"]!, "/route?ip=127.0.0.1") }
        #expect(route.contains(oneOfThree), "\(route)")
        let status = try await offThePool { try CLITests.run(["fleet", "status", "--etcd", etcd.url]) }
        #expect(status.status == 0, "\(status.stderr)")
        let qaVote = status.stdout.split(separator: "\n").first { $0.contains("health near 127.0.0.1:\(target.port)") }
        #expect(qaVote?.contains("down (status 503) since") == true, "\(status.stdout)")
        #expect(
            status.stdout.split(separator: "\n").filter { $0.contains(": up since") }.count == 2, "\(status.stdout)")

        // q-b sees it down too: 2 of 3 reach the quorum, and all three, q-c too, move to far.
        target.behaviour = .failing(userAgents: ["/q-a", "/q-b"])
        try await Self.waitForVotes(etcd, ["q-a": false, "q-b": false, "q-c": true])
        try await Self.waitForRegions(fleet, "far", "two of three see near down")
        let down = try await offThePool { try Self.admin(fleet["q-c"]!, "/route?ip=127.0.0.1") }
        #expect(down.contains("down by quorum: 2 of 3 instances see it down, quorum 0.66"), "\(down)")

        // q-b stops: its lease is revoked and its vote goes with it. 1 of 2 is below the quorum again.
        try await offThePool { fleet["q-b"]!.stop() }
        try await Self.waitForVotes(etcd, ["q-a": false, "q-c": true])
        let rest = fleet.filter { $0.key != "q-b" }
        try await Self.waitForRegions(rest, "near", "q-b's vote went with it")
        let after = try await offThePool { try Self.admin(fleet["q-a"]!, "/status") }
        #expect(after.contains("up: 1 of 2 instances see it down, quorum 0.66"), "\(after)")
    }

    @Test func withoutAQuorumEachInstanceRoutesOnItsOwnViewAndADeadOnesVotesExpire() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let target = try HealthTargetServer(.failing(userAgents: ["/own-a"]))
        defer { target.shutdown() }
        let etcd = try await offThePool { try EtcdServer(folder: folder.path) }
        defer { etcd.stop() }
        _ = try await offThePool { try etcd.put("config", Self.config(targetPort: target.port, quorum: nil)) }
        let fleet = try await offThePool { try Self.startFleet(etcd, names: ["own-a", "own-b"]) }
        defer { for serve in fleet.values { serve.stop() } }

        // The votes are published, but each instance goes by its own checks.
        try await Self.waitForVotes(etcd, ["own-a": false, "own-b": true])
        try await waitUntil("own-a to route on its own view") {
            try await offThePool { try Self.region(fleet["own-a"]!) } == "far"
        }
        #expect(try await offThePool { try Self.region(fleet["own-b"]!) } == "near")
        let status = try await offThePool { try Self.admin(fleet["own-b"]!, "/status") }
        #expect(status.contains("\"health_votes\":null"), "\(status)")

        // An instance killed without a word: its vote lasts only as long as its lease.
        kill(fleet["own-a"]!.process.processIdentifier, SIGKILL)
        try await Self.waitForVotes(etcd, ["own-b": true])
    }

    @Test func losingEtcdFallsBackToTheOwnViewAndComesBack() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let target = try HealthTargetServer(.failing(userAgents: ["/lost-a"]))
        defer { target.shutdown() }
        let etcd = try await offThePool { try EtcdServer(folder: folder.path) }
        defer { etcd.stop() }
        _ = try await offThePool { try etcd.put("config", Self.config(targetPort: target.port, quorum: 0.66)) }
        let fleet = try await offThePool { try Self.startFleet(etcd, names: ["lost-a", "lost-b"]) }
        defer { for serve in fleet.values { serve.stop() } }

        // 1 of 2 is below the quorum: both route to near.
        try await Self.waitForVotes(etcd, ["lost-a": false, "lost-b": true])
        try await waitUntil("lost-a to count lost-b's vote") {
            try await offThePool { try Self.admin(fleet["lost-a"]!, "/status") }
                .contains("up: 1 of 2 instances see it down, quorum 0.66")
        }
        try await Self.waitForRegions(fleet, "near", "1 of 2 is below the quorum")

        // Etcd gone: each goes by its own view (lost-a to far, lost-b stays), never everything down.
        try await offThePool { etcd.stop() }
        try await waitUntil("lost-a to fall back to its own view") {
            try await offThePool { try Self.region(fleet["lost-a"]!) } == "far"
        }
        #expect(try await offThePool { try Self.region(fleet["lost-b"]!) } == "near")
        #expect(fleet["lost-a"]!.log.contains("health checks fall back to this instance's own view"))
        let status = try await offThePool { try Self.admin(fleet["lost-a"]!, "/status") }
        #expect(status.contains("\"fleet_health\":\"etcd unreachable: this instance's own view\""), "\(status)")
        #expect(status.contains("own view: etcd unreachable (quorum 0.66 not applied)"), "\(status)")

        // Etcd back: the votes count again.
        try await offThePool { try etcd.start() }
        try await Self.waitForRegions(fleet, "near", "etcd is back and 1 of 2 is below the quorum")
        #expect(fleet["lost-a"]!.log.contains("etcd reachable again; routing on the fleet's health votes"))
    }
}
