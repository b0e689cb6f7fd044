import Foundation
import TestSupport
import Testing

/// Three `geofront serve` processes with `rate_limit.store` on one real `redis-server`: one limit
/// for the fleet, and no failed request while Redis is stopped and started again.
@Suite(
    .serialized, .timeLimit(.minutes(5)),
    .enabled(if: RedisServer.isInstalled, "redis-server is not installed (scripts/test installs it)"))
struct FleetRateLimitProcessTests {
    static let burst = 20

    static func config(_ folder: TemporaryDirectory, redis: RedisServer) throws -> String {
        try folder.write(
            "regions.json",
            """
            {"listen": "127.0.0.1:0", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "trusted_proxies": ["127.0.0.0/8"], "server": {"threads": 1}, "admin": {"listen": "127.0.0.1:0"},
             "rate_limit": {"requests_per_second": \(100.0 / 60), "burst": \(burst),
                            "store": {"redis": "\(redis.url)", "timeout_ms": 2000}},
             "regions": [{"name": "only", "location": {"latitude": 0, "longitude": 0}, "redirect_url": "https://only.example.test"}]}
            """)
    }

    /// The value of a series in the process's `/metrics` (0 when absent).
    static func metric(_ serve: ServeProcess, _ series: String) throws -> Double {
        let text = String(
            decoding: try RawHTTPClient(port: serve.adminPort).exchange("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
                .body,
            as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.split(separator: " ").last!) ?? 0
        }
        return 0
    }

    static let connections = "geofront_rate_limit_store_connections"
    static let errors = #"geofront_rate_limit_store_fallback_total{reason="error"}"#

    @Test func threeProcessesShareOneLimitAndSurviveRedisGoingAway() async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = try Self.config(folder, redis: redis)
        let report = try await offThePool {
            () -> (passed: [Int], seconds: Double, failures: [String], statuses: Set<Int>) in
            let fleet = try (0..<3).map { _ in try ServeProcess(configPath: path, admin: true) }
            defer { for serve in fleet { serve.stop() } }
            // Each process connects at start.
            try waitUntilBlocking("three processes connected to Redis") {
                try fleet.allSatisfy { try Self.metric($0, Self.connections) == 1 }
            }
            // 300 requests of one client, in turn to the three processes.
            let clients = try fleet.map { try $0.connect() }
            var passed = [0, 0, 0]
            let clock = ContinuousClock()
            let start = clock.now
            for index in 0..<300 {
                let response = try clients[index % 3].exchange(
                    "GET /f HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n")
                if response.status == 302 { passed[index % 3] += 1 }
            }
            let seconds = (clock.now - start) / .seconds(1)
            // Redis stopped and started under load: every answer 302 or 429.
            var failures: [String] = []
            var statuses: Set<Int> = []
            func round(_ tag: Int) {
                for (index, client) in clients.enumerated() {
                    do {
                        statuses.insert(
                            try client.exchange(
                                "GET /l HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 81.2.69.\(tag % 200 + index)\r\n\r\n"
                            ).status)
                    } catch {
                        failures.append("\(error)")
                    }
                }
            }
            for tag in 0..<20 { round(tag) }
            redis.stop()
            var tag = 20
            try waitUntilBlocking("fallbacks counted in every process") {
                round(tag)
                tag += 1
                return try fleet.allSatisfy { try Self.metric($0, Self.errors) >= 5 }
            }
            try redis.start()
            try waitUntilBlocking("three processes reconnected") {
                round(tag)
                tag += 1
                return try fleet.allSatisfy { try Self.metric($0, Self.connections) == 1 }
            }
            for _ in 0..<20 {
                round(tag)
                tag += 1
            }
            return (passed, seconds, failures, statuses)
        }
        let total = report.passed.reduce(0, +)
        print(
            "fleet of three processes: \(report.passed) of 300 passed in \(report.seconds) s; "
                + "statuses while Redis was stopped and started: \(report.statuses)")
        // One bucket: the burst, and 100 a minute after it for the time the requests took; never
        // more than the issue's 100 + 3 × burst a minute.
        let bound = Self.burst + Int((100.0 / 60 * report.seconds).rounded(.up)) + 1
        #expect(total >= Self.burst && total <= min(bound, 100 + 3 * Self.burst), "\(report.passed)")
        #expect(report.passed.allSatisfy { $0 > 0 }, "\(report.passed)")
        #expect(report.failures.isEmpty, "\(report.failures.prefix(3))")
        #expect(report.statuses.isSubset(of: [302, 429]), "\(report.statuses)")
    }
}
