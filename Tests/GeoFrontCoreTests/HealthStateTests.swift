import GeoIP
import Testing

@testable import GeoFrontCore

@Suite struct HealthStateTests {
    static let failure = ProbeResult.fail(.connectionRefused)
    static let success = ProbeResult.pass(latencyMilliseconds: 1)

    /// Feeds `results` (P = pass, F = fail) to a fresh target and returns the transitions as a
    /// string: `.` unchanged, `p` pending, `D` changed to down, `U` changed to up.
    static func run(_ results: String, rise: Int, fall: Int) -> String {
        var target = TargetHealth(rise: rise, fall: fall)
        return String(
            results.map { symbol in
                switch target.record(symbol == "P" ? success : failure) {
                case .unchanged: return "."
                case .pending: return "p"
                case .changed(let healthy): return healthy ? "U" : "D"
                }
            })
    }

    @Test(arguments: [
        // results, rise, fall, transitions
        ("PPPP", 2, 3, "...."),  // starts healthy (fail-open)
        ("FFF", 2, 3, "ppD"),  // leaves after `fall` failures
        ("FFPFF", 2, 3, "pp.pp"),  // a pass resets the failure streak
        ("FFFPP", 2, 3, "ppDpU"),  // back after `rise` passes
        ("FFFPFPP", 2, 3, "ppDp.pU"),  // a failure resets the pass streak
        ("F", 1, 1, "D"),
        ("FP", 1, 1, "DU"),
        ("PFPFPFPFPF", 2, 3, ".p.p.p.p.p"),  // alternating never flips a 2/3 target
        ("FFFPFPFPFP", 2, 3, "ppDp.p.p.p"),  // nor brings one back
        ("FPFPFP", 1, 1, "DUDUDU"),  // rise/fall 1 follow every result
    ])
    func transitions(results: String, rise: Int, fall: Int, expected: String) {
        #expect(Self.run(results, rise: rise, fall: fall) == expected)
    }

    @Test func consecutiveFailuresAndLastResultAreKept() {
        var target = TargetHealth(rise: 2, fall: 3)
        _ = target.record(.fail(.timeout(milliseconds: 1000)))
        _ = target.record(.fail(.unexpectedStatus(503)))
        #expect(target.consecutiveFailures == 2)
        #expect(target.lastResult == .fail(.unexpectedStatus(503)))
        _ = target.record(Self.success)
        #expect(target.consecutiveFailures == 0)
    }

    @Test func failureReasonsReadWell() {
        #expect(ProbeFailure.timeout(milliseconds: 1000).description == "timeout after 1000 ms")
        #expect(ProbeFailure.unexpectedStatus(503).description == "status 503")
        #expect(ProbeFailure.connectionRefused.description == "connection refused")
    }

    @Test(arguments: [
        ("200-399", [200, 301, 399], [199, 400, 500]),
        ("200", [200], [201, 204]),
        ("200,204, 300-308", [200, 204, 300, 308], [201, 309]),
    ])
    func statusRanges(text: String, inside: [Int], outside: [Int]) throws {
        let ranges = try #require(StatusRanges(text))
        for status in inside { #expect(ranges.contains(status)) }
        for status in outside { #expect(!ranges.contains(status)) }
    }

    @Test(arguments: ["", "abc", "99", "600", "300-200", "200-", "-200", "200,,204"])
    func badStatusRanges(text: String) {
        #expect(StatusRanges(text) == nil)
    }

    @Test func timingFormula() {
        let settings = HealthCheckSettings(intervalMilliseconds: 2000, timeoutMilliseconds: 1000, rise: 2, fall: 3)
        #expect(settings.jitterMilliseconds == 200)
        #expect(settings.worstCaseDetectionMilliseconds == (2000 + 200 + 1000) * 3)
        #expect(settings.worstCaseRecoveryMilliseconds == (2000 + 200) * 2)
    }

    static func region(_ name: String, targets: Int, minHealthy: Int = 1, drain: Bool = false) -> RegionConfig {
        RegionConfig(
            name: name, location: Coordinate(latitude: 0, longitude: 0), redirectURL: nil,
            healthCheck: HealthCheckSettings(rise: 1, fall: 1),
            healthTargets: (0..<targets).map { HealthTarget(address: HostPort(host: "127.0.0.1", port: 9000 + $0)) },
            minHealthy: minHealthy, drain: drain)
    }

    @Test func regionAvailabilityFollowsMinHealthy() {
        let monitor = HealthMonitor(regions: [Self.region("a", targets: 3, minHealthy: 2)])
        #expect(monitor.statuses()[0].isAvailable)
        #expect(!monitor.record(region: 0, target: 0, result: Self.failure).regionAvailabilityChanged)
        let report = monitor.record(region: 0, target: 1, result: .fail(.unexpectedStatus(503)))
        #expect(report.regionAvailabilityChanged)
        let status = monitor.statuses()[0]
        #expect(!status.isAvailable)
        #expect(status.healthyTargets == 1)
        #expect(
            status.unavailableReason
                == "1 of 3 targets healthy, needs 2: 127.0.0.1:9000 1 failed check, connection refused; 127.0.0.1:9001 1 failed check, status 503"
        )
        #expect(monitor.record(region: 0, target: 0, result: Self.success).regionAvailabilityChanged)
    }

    @Test func drainsWinOverHealth() {
        let monitor = HealthMonitor(regions: [Self.region("a", targets: 1), Self.region("b", targets: 1, drain: true)])
        #expect(monitor.statuses()[1].unavailableReason == "drained")
        #expect(monitor.setDrained("a", true))
        #expect(monitor.statuses()[0].unavailableReason == "drained")
        #expect(monitor.setDrained("a", false))
        #expect(monitor.statuses()[0].isAvailable)
        #expect(!monitor.setDrained("nope", true))
    }

    @Test func uncheckedRegionsAreAlwaysHealthy() {
        let unchecked = RegionConfig(name: "u", location: Coordinate(latitude: 0, longitude: 0), redirectURL: nil)
        let status = HealthMonitor(regions: [unchecked]).statuses()[0]
        #expect(status.isAvailable)
        #expect(status.checkedTargets == 0)
    }
}
