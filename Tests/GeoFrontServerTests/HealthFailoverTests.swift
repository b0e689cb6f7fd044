import Foundation
import GeoFrontCore
import GeoFrontServer
import GeoIP
import Logging
import NIOCore
import TestSupport
import Testing

/// Three regions, each with one real HTTP health target on loopback; GeoFront probes them every
/// 100 ms. The client (London, via X-Forwarded-For from the trusted proxy) is nearest eu-west,
/// then eu-central, then us-east.
final class HealthRig {
    static let client = "81.2.69.142"
    static let names = ["eu-west", "eu-central", "us-east"]
    static var check: [String: Any] {
        [
            "type": "http", "path": "/healthz", "interval_ms": 100, "timeout_ms": 60, "rise": 2, "fall": 3,
        ]
    }

    let targets: [HealthTargetServer]
    let server: FrontDoorServer
    let checker: HealthChecker
    let checking: Task<Void, any Error>
    let port: Int
    let settings: HealthCheckSettings

    init(
        behaviours: [HealthTargetServer.Behaviour] = [.status(200), .status(200), .status(200)],
        drain: Set<String> = [], whenAllDown: String = "nearest", check: [String: Any] = HealthRig.check
    ) async throws {
        let targets = try behaviours.map { try HealthTargetServer($0) }
        self.targets = targets
        let coordinates = [(51.51, -0.13), (50.11, 8.68), (39.04, -77.49)]
        let regions: [[String: Any]] = (0..<3).map { index in
            [
                "name": Self.names[index],
                "location": ["latitude": coordinates[index].0, "longitude": coordinates[index].1],
                "redirect_url": "https://\(Self.names[index]).example.test",
                "targets": ["127.0.0.1:\(targets[index].port)"],
                "drain": drain.contains(Self.names[index]),
            ]
        }
        let object: [String: Any] = [
            "listen": "127.0.0.1:0", "geoip": ["database": Fixtures.maxmind("GeoLite2-City-Test.mmdb")],
            "trusted_proxies": ["127.0.0.0/8"], "default_region": "eu-central", "server": ["threads": 1],
            "health_check": check, "when_all_down": whenAllDown, "regions": regions,
        ]
        let config = try ConfigLoader.parse(try JSONSerialization.data(withJSONObject: object), baseDirectory: "/")
        settings = config.regions[0].healthCheck!
        var logger = Logger(label: "geofront-health-test")
        logger.logLevel = .warning
        server = try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
        port = server.localAddress!.port!
        checker = HealthChecker(
            registry: server.health, prober: HealthProber(group: server.eventLoopGroup),
            publisher: server.publisher, logger: logger)
        checking = Task { [checker] in try await checker.run() }
    }

    /// Where the London client is sent now (status and region header).
    func route() throws -> (status: Int, region: String?, retryAfter: String?) {
        let client = try RawHTTPClient(port: port)
        let response = try client.exchange("GET /r HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: \(Self.client)\r\n\r\n")
        return (response.status, response.header("x-geofront-region"), response.header("retry-after"))
    }

    /// Polls every 10 ms until the client is sent to `region`; returns the seconds it took, or nil
    /// after `limit` seconds.
    func secondsUntilRoutedTo(_ region: String, limit: Double) async throws -> Double? {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < .seconds(limit) {
            if try route().region == region {
                let elapsed = (clock.now - start).components
                return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Returns once every event loop has taken the snapshot published before the call (the
    /// publisher hands it to each loop with `execute`, so a task submitted after it runs after it).
    func snapshotReachedTheLoops() async throws {
        for loop in server.eventLoopGroup.makeIterator() { try await loop.submit {}.get() }
    }

    func stop() async throws {
        checking.cancel()
        _ = await checking.result
        try await server.stop()
        for target in targets { target.shutdown() }
    }
}

@Suite(.serialized) struct HealthFailoverTests {
    /// Scheduling slack on a busy 2-core machine (other suites run in parallel, another process
    /// may hold a core), added to the formula's bound: a loose sanity bound, not a speed test. The
    /// measured times are printed; quiet-machine runs are far inside the bound.
    static let slack = 5.0
    /// How long a test polls for a change before it calls it "never" (beyond the bound + slack,
    /// so that a late change fails the bound check with its time, not as "never").
    static let patience = 30.0

    @Test func deadRegionLosesItsClientsWithinTheBoundAndGetsThemBack() async throws {
        let rig = try await HealthRig()
        #expect(try rig.route().region == "eu-west")
        try await waitUntil("a few healthy rounds first") { rig.targets[0].requests >= 3 }

        try rig.targets[0].stop()
        let detectionBound = Double(rig.settings.worstCaseDetectionMilliseconds) / 1000
        let detected = try await rig.secondsUntilRoutedTo("eu-central", limit: detectionBound + Self.patience)
        let detection = try #require(detected, "never failed over")
        print("health: failover after \(String(format: "%.3f", detection)) s (bound \(detectionBound) s)")
        #expect(detection <= detectionBound + Self.slack)
        let explanation = rig.server.publisher.current.explain(IPAddressFixture.london)
        #expect(explanation.reasonText.contains("eu-west skipped: unhealthy: "), "\(explanation.reasonText)")
        #expect(explanation.reasonText.contains("connection refused"), "\(explanation.reasonText)")

        try rig.targets[0].start()
        let recoveryBound = Double(rig.settings.worstCaseRecoveryMilliseconds) / 1000
        let recovered = try await rig.secondsUntilRoutedTo("eu-west", limit: recoveryBound + Self.patience)
        let recovery = try #require(recovered, "never came back")
        print("health: back after \(String(format: "%.3f", recovery)) s (bound \(recoveryBound) s)")
        #expect(recovery <= recoveryBound + Self.slack)
        // It needs `rise` passing probes, so it cannot come back on the very first one.
        #expect(recovery >= Double(rig.settings.intervalMilliseconds) / 1000 * 0.9)
        try await rig.stop()
    }

    @Test func alternatingTargetDoesNotFlap() async throws {
        // One passing probe that timed out would make three failures in a row and take the target
        // out, so the timeout here is far beyond what a loopback probe takes on a loaded machine.
        var check = HealthRig.check
        check["interval_ms"] = 250
        check["timeout_ms"] = 200
        let rig = try await HealthRig(behaviours: [.alternating, .status(200), .status(200)], check: check)
        // Watch it through 8 probes, passing and failing in turn, however long they take.
        try await waitUntil("8 probes of the alternating target", interval: .milliseconds(50)) {
            let region = try rig.route().region
            #expect(region == "eu-west")
            return rig.targets[0].requests >= 8
        }
        let state = rig.checker.monitor.targetStates()[0][0]
        #expect(state.isHealthy)
        try await rig.stop()
    }

    @Test func targetThatNeverAnswersIsCaughtByTheTimeout() async throws {
        let rig = try await HealthRig(behaviours: [.hang, .status(200), .status(200)])
        let bound = Double(rig.settings.worstCaseDetectionMilliseconds) / 1000
        let detected = try await rig.secondsUntilRoutedTo("eu-central", limit: bound + Self.patience)
        #expect(detected != nil)
        #expect(detected ?? 99 <= bound + Self.slack)
        let reason = rig.server.publisher.current.explain(IPAddressFixture.london).reasonText
        #expect(reason.contains("timeout after 60 ms"), "\(reason)")
        try await rig.stop()
    }

    @Test func deadAtBootLeavesAfterFallProbes() async throws {
        let rig = try await HealthRig()
        try rig.targets[0].stop()  // before the first rounds complete
        let bound = Double(rig.settings.worstCaseDetectionMilliseconds) / 1000
        let detected = try await rig.secondsUntilRoutedTo("eu-central", limit: bound + Self.patience)
        #expect(detected ?? 99 <= bound + Self.slack)
        try await rig.stop()
    }

    @Test func drainedRegionIsNeverChosen() async throws {
        let rig = try await HealthRig(drain: ["eu-west"])
        for _ in 0..<5 {
            #expect(try rig.route().region == "eu-central")
            try await Task.sleep(for: .milliseconds(50))
        }
        // Runtime drain of the next one, and undrain.
        #expect(rig.checker.monitor.setDrained("eu-central", true))
        rig.checker.republish()
        try await rig.snapshotReachedTheLoops()
        #expect(try rig.route().region == "us-east")
        #expect(rig.checker.monitor.setDrained("eu-central", false))
        rig.checker.republish()
        try await rig.snapshotReachedTheLoops()
        #expect(try rig.route().region == "eu-central")
        try await rig.stop()
    }

    @Test func allDownFailsOpenByDefault() async throws {
        let rig = try await HealthRig(behaviours: [.status(503), .status(503), .status(500)])
        try await waitUntil("every region to be marked down") {
            rig.server.publisher.current.regions.allSatisfy { !$0.isAvailable }
        }
        try await rig.snapshotReachedTheLoops()
        let (status, region, _) = try rig.route()
        #expect(status == 302)
        #expect(region == "eu-west")  // nearest anyway
        let reason = rig.server.publisher.current.explain(IPAddressFixture.london)
        #expect(reason.reason == .allUnavailable)
        try await rig.stop()
    }

    @Test func allDownAnswers503WhenConfigured() async throws {
        let rig = try await HealthRig(
            behaviours: [.status(503), .status(503), .status(500)], whenAllDown: "unavailable")
        var answer = try rig.route()
        try await waitUntil("503 once every region is down") {
            answer = try rig.route()
            return answer.status == 503
        }
        #expect(answer.region == nil)
        #expect(answer.retryAfter == "1")  // (100 + 10) ms × rise 2, rounded up to a second
        // One region recovering is enough to serve again.
        rig.targets[2].behaviour = .status(200)
        #expect(try await rig.secondsUntilRoutedTo("us-east", limit: Self.patience) != nil)
        try await rig.stop()
    }
}

enum IPAddressFixture {
    static let london = IPAddress("81.2.69.142")!
}
