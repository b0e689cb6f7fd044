import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import TestSupport
import Testing

/// `rate_limit.store`: three GeoFront servers sharing their token buckets through one real
/// `redis-server`, and what they do while it is stalled, stopped and back.
@Suite(
    .serialized, .timeLimit(.minutes(5)),
    .enabled(if: RedisServer.isInstalled, "redis-server is not installed (scripts/test installs it)"))
struct FleetRateLimitTests {
    static let rate = 100.0 / 60
    static let burst = 20

    /// Three servers (one event loop each) with `rate_limit` kept in `redis`.
    static func withFleet(
        _ redis: RedisServer, count: Int = 3, rate: Double = rate, burst: Int = burst, timeoutMilliseconds: Int = 2000,
        _ body: ([TestServer]) async throws -> Void
    ) async throws {
        let limit: [String: Any] = [
            "requests_per_second": rate, "burst": burst,
            "store": ["redis": redis.url, "timeout_ms": timeoutMilliseconds, "on_error": "local"],
        ]
        var servers: [TestServer] = []
        do {
            for _ in 0..<count { servers.append(try await TestServer.start(extra: ["rate_limit": limit])) }
            try await body(servers)
        } catch {
            for server in servers { try? await server.stop() }
            throw error
        }
        for server in servers { try await server.stop() }
    }

    /// The value of the series `name` (with its labels, e.g. `x_total{reason="error"}`); 0 when absent.
    static func metric(_ server: TestServer, _ name: String) -> Double {
        for line in server.server.metrics.exposition().split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last!) ?? 0
        }
        return 0
    }

    static func total(_ servers: [TestServer], _ name: String) -> Double {
        servers.reduce(0) { $0 + metric($1, name) }
    }

    static let connections = "geofront_rate_limit_store_connections"
    static let decisions = [
        #"geofront_rate_limit_store_decisions_total{result="allowed"}"#,
        #"geofront_rate_limit_store_decisions_total{result="limited"}"#,
    ]
    static let timeouts = #"geofront_rate_limit_store_fallback_total{reason="timeout"}"#
    static let errors = #"geofront_rate_limit_store_fallback_total{reason="error"}"#

    static func storeDecisions(_ servers: [TestServer]) -> Double {
        decisions.reduce(0) { $0 + total(servers, $1) }
    }

    /// Each server connects to Redis at start: waits until every one is up.
    static func connect(_ servers: [TestServer]) async throws {
        try await waitUntil("every server connected to Redis") {
            servers.allSatisfy { metric($0, connections) == 1 }
        }
    }

    @Test func oneLimitForTheWholeFleet() async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        try await Self.withFleet(redis) { servers in
            try await Self.connect(servers)
            // 300 requests of one client, spread over the three servers in turn, as fast as they go.
            let clock = ContinuousClock()
            let start = clock.now
            let (perServer, retryAfter) = try await offThePool { () -> ([[Int]], Set<String>) in
                let clients = try servers.map { try $0.trustedClient() }
                var statuses: [[Int]] = Array(repeating: [], count: servers.count)
                var retryAfter: Set<String> = []
                for index in 0..<300 {
                    let response = try clients[index % 3].exchange(
                        "GET /f HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n")
                    if response.status == 429 { retryAfter.insert(response.header("retry-after") ?? "-") }
                    statuses[index % 3].append(response.status)
                }
                return (statuses, retryAfter)
            }
            // One token at 100 a minute: back within a second.
            #expect(retryAfter == ["1"])
            let seconds = (clock.now - start) / .seconds(1)
            let passed = perServer.map { $0.filter { $0 == 302 }.count }
            let total = passed.reduce(0, +)
            // One bucket for the fleet: the burst, and 100 a minute after it, for the time the
            // requests took; never more than the issue's bound of 100 + 3 × burst a minute.
            let bound = Self.burst + Int((Self.rate * seconds).rounded(.up)) + 1
            print("fleet rate limit: \(passed) of 300 passed (per server) in \(seconds) s; bound \(bound)")
            #expect(total <= min(bound, 100 + 3 * Self.burst), "\(passed) passed in \(seconds) s")
            #expect(total >= Self.burst, "\(passed)")
            // Without Redis each server would let its own burst through (3 × 20).
            if seconds < 10 { #expect(total < 3 * Self.burst, "\(passed) in \(seconds) s") }
            for statuses in perServer {
                #expect(Set(statuses).isSubset(of: [302, 429]))
                #expect(statuses.contains(302) && statuses.contains(429), "\(perServer)")
            }
            // Every decision was Redis's, in one round trip each: one EVALSHA per request.
            #expect(Self.storeDecisions(servers) == 300)
            let stats = try redis.command(["INFO", "commandstats"])
            #expect(stats.contains("cmdstat_evalsha:calls=300,"), "\(stats)")
            #expect(!stats.contains("cmdstat_eval:"))
            #expect(Self.total(servers, Self.timeouts) == 0)
            #expect(Self.total(servers, Self.errors) == 0)
        }
    }

    @Test func pipelinedRequestsWaitForRedisInOrder() async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        try await Self.withFleet(redis, count: 1, rate: 0.001, burst: 3) { servers in
            try await Self.connect(servers)
            let paths = try await offThePool { () -> [String] in
                let client = try servers[0].trustedClient()
                var batch = ""
                for index in 1...6 {
                    let body = index == 2 ? "Content-Length: 5\r\n\r\nhello" : "\r\n"
                    batch +=
                        "\(index == 2 ? "POST" : "GET") /\(index) HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 81.2.69.142\r\n\(body)"
                }
                guard client.send(batch) else { throw RawHTTPError("the batch was not sent") }
                return try (1...6).map { _ in
                    let response = try client.readResponse()
                    return "\(response.status) \(response.header("location") ?? "-")"
                }
            }
            #expect(
                paths == [
                    "302 https://eu-west.example.test/1", "302 https://eu-west.example.test/2",
                    "302 https://eu-west.example.test/3", "429 -", "429 -", "429 -",
                ])
            #expect(Self.storeDecisions(servers) == 6)
        }
    }

    @Test func proxiedRequestsWithBodiesWaitForRedisInOrder() async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let limit: [String: Any] = [
            "requests_per_second": 0.001, "burst": 2, "store": ["redis": redis.url, "timeout_ms": 2000],
        ]
        let rig = try await ProxyRig(upstreams: ["eu-west": [("london-1", .echo)]], extra: ["rate_limit": limit])
        do {
            let port = rig.port
            try await waitUntil("the connection to Redis") {
                rig.server.metrics.exposition().contains("\(Self.connections) 1")
            }
            // A POST whose body comes with its head, a GET, then one over the limit: in order.
            let answers = try await offThePool { () -> [String] in
                let client = try RawHTTPClient(port: port, source: "127.0.0.2")
                let batch =
                    "POST /p HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 81.2.69.142\r\nContent-Length: 11\r\n\r\nhello world"
                    + "GET /g HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n"
                    + "GET /h HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n"
                guard client.send(batch) else { throw RawHTTPError("the batch was not sent") }
                return try (0..<3).map { _ in
                    let response = try client.readResponse()
                    let echo = response.echo
                    return
                        "\(response.status) \(echo?["method"] ?? "-") \(echo?["uri"] ?? "-") \(echo?["body_bytes"] ?? "-")"
                }
            }
            #expect(answers == ["200 POST /p 11", "200 GET /g 0", "429 - - -"])
        } catch {
            try? await rig.stop()
            throw error
        }
        try await rig.stop()
    }

    @Test func redisStoppedUnderLoadFailsNoRequestAndIsUsedAgainWhenBack() async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        try await Self.withFleet(redis, rate: 1000, burst: 1000) { servers in
            try await Self.connect(servers)
            let load = Load(servers)
            defer { load.stop() }
            try await waitUntil("requests through Redis") { Self.storeDecisions(servers) >= 100 }

            // Stopped: every server notices, and decides at once with its local buckets.
            redis.stop()
            try await waitUntil("every connection known down") {
                servers.allSatisfy { Self.metric($0, Self.connections) == 0 }
            }
            let before = load.answered
            try await waitUntil("requests decided locally") {
                load.answered >= before + 100 && Self.total(servers, Self.errors) >= 100
            }

            // Back: the servers reconnect and use it again.
            try redis.start()
            try await waitUntil("every server reconnected") {
                servers.allSatisfy { Self.metric($0, Self.connections) == 1 }
            }
            let decided = Self.storeDecisions(servers)
            try await waitUntil("requests through Redis again") { Self.storeDecisions(servers) >= decided + 100 }
            let result = try await offThePool { load.stop() }
            print(
                "Redis stopped under load: \(result.statuses) answered, \(result.failures.count) failed; fallbacks "
                    + "\(Self.total(servers, Self.errors)) error, \(Self.total(servers, Self.timeouts)) timeout; "
                    + "\(Self.storeDecisions(servers)) decisions by Redis")
            #expect(result.failures.isEmpty, "\(result.failures.prefix(5))")
            #expect(Set(result.statuses.keys).isSubset(of: [302, 429]), "\(result.statuses)")
            #expect(result.statuses[302, default: 0] > 0)
        }
    }

    @Test func aServerStartsAndServesWithoutRedis() async throws {
        let limit: [String: Any] = [
            "requests_per_second": 0.001, "burst": 2,
            "store": ["redis": "redis://127.0.0.1:\(try LoopbackPort.free())", "on_error": "local"],
        ]
        try await withServer(extra: ["rate_limit": limit]) { server in
            let statuses = try await offThePool { () -> [Int] in
                let client = try server.trustedClient()
                return try (0..<4).map { _ in
                    try client.exchange("GET /n HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n").status
                }
            }
            // Nothing listens there: the local bucket decides (burst 2), at once.
            #expect(statuses == [302, 302, 429, 429])
            #expect(Self.metric(server, Self.errors) == 4)
            #expect(Self.metric(server, Self.connections) == 0)
        }
    }

    @Test func aStalledRedisCostsAtMostTheTimeout() async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        try await Self.withFleet(redis, count: 1, rate: 1000, burst: 1000, timeoutMilliseconds: 50) { servers in
            try await Self.connect(servers)
            // Redis holds every command for 5 s: decisions wait 50 ms, then the local bucket decides.
            #expect(try redis.command(["CLIENT", "PAUSE", "5000", "ALL"]) == "OK")
            let statuses = try await offThePool { () -> [Int] in
                let client = try servers[0].trustedClient()
                return try (0..<5).map { _ in
                    try client.exchange("GET /s HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n").status
                }
            }
            #expect(statuses == [302, 302, 302, 302, 302])
            #expect(Self.metric(servers[0], Self.timeouts) >= 1)
        }
    }
}

/// Requests from three clients, one connection to each server, in turn until stopped: the
/// statuses they got and anything that went wrong (an error, a closed connection).
final class Load: @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [Int: Int] = [:]
    private var failures: [String] = []
    private var stopping = false
    private var done = false
    private let finished = NSCondition()

    init(_ servers: [TestServer]) {
        let ports = servers.map(\.port)
        Thread.detachNewThread { [self] in
            defer {
                finished.lock()
                done = true
                finished.broadcast()
                finished.unlock()
            }
            let clients: [RawHTTPClient]
            do {
                clients = try ports.map { try RawHTTPClient(port: $0, source: "127.0.0.2", timeoutSeconds: 30) }
            } catch {
                lock.withLock { failures.append("\(error)") }
                return
            }
            var index = 0
            while !lock.withLock({ stopping }) {
                let client = clients[index % clients.count]
                let address = "81.2.69.\(140 + index % 3)"
                index += 1
                do {
                    let response = try client.exchange(
                        "GET /load HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: \(address)\r\n\r\n")
                    lock.withLock { statuses[response.status, default: 0] += 1 }
                } catch {
                    lock.withLock { failures.append("\(error)") }
                    return
                }
            }
        }
    }

    var answered: Int { lock.withLock { statuses.values.reduce(0, +) } }

    /// Stops the requests and waits for the last one.
    @discardableResult
    func stop() -> (statuses: [Int: Int], failures: [String]) {
        lock.withLock { stopping = true }
        finished.lock()
        while !done { finished.wait() }
        finished.unlock()
        return lock.withLock { (statuses, failures) }
    }
}

/// A reload that removes `rate_limit.store` closes the event loops' Redis connections at once.
@Suite(.enabled(if: RedisServer.isInstalled, "redis-server is not installed (scripts/test installs it)"))
struct RateLimitStoreReloadTests {
    @Test func aReloadWithoutTheStoreClosesTheRedisConnections() async throws {
        let redis = try await offThePool { try RedisServer() }
        defer { redis.stop() }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = #""rate_limit": {"requests_per_second": 10, "burst": 10, "store": {"redis": "\#(redis.url)"}},"#
        let path = try folder.write(
            "regions.json", OperationsRig.config(database: Fixtures.maxmind("GeoLite2-City-Test.mmdb"), extra: store))
        var logger = Logger(label: "redis-reload-test")
        logger.logLevel = .critical
        let server = try await FrontDoorServer.start(
            snapshot: try RoutingSnapshot.open(config: try ConfigLoader.load(path: path)), logger: logger)
        let metric = FleetRateLimitTests.connections
        func connections() -> Double? {
            server.metrics.exposition().split(separator: "\n").first { $0.hasPrefix(metric + " ") }
                .flatMap { Double($0.split(separator: " ").last!) }
        }
        try await waitUntil("connected to Redis") { connections() == 1 }
        _ = try folder.write(
            "regions.json", OperationsRig.config(database: Fixtures.maxmind("GeoLite2-City-Test.mmdb")))
        let reloader = ConfigReloader(configPath: path, server: server, logger: logger)
        guard case .success = await reloader.reload(reason: "test") else {
            Issue.record("the reload failed")
            return
        }
        try await waitUntil("the Redis connection closed") { connections() == 0 }
        try await server.stop()
    }
}
