import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import TestSupport
import Testing

/// GeoFront as an operator runs it: a configuration file, the admin listener with a token, the
/// reloader and the health checker.
final class OperationsRig: Sendable {
    static let token = "s3cret-token"
    let folder: TemporaryDirectory
    let configPath: String
    let databasePath: String
    let server: FrontDoorServer
    let checker: HealthChecker
    let reloader: ConfigReloader
    let admin: AdminServer
    let checking: Task<Void, any Error>
    let port: Int
    let adminPort: Int

    /// - Parameter server: more `server` keys, each followed by a comma.
    static func config(
        database: String, euWestURL: String = "https://eu-west.example.test", server: String = "", extra: String = ""
    ) -> String {
        """
        {"listen": "127.0.0.1:0", "geoip": {"database": "\(database)"}, "trusted_proxies": ["127.0.0.0/8"],
         "default_region": "eu-central", "server": {\(server) "threads": 1, "shutdown_grace_ms": 5000}, \(extra)
         "regions": [
           {"name": "eu-west", "location": {"latitude": 51.51, "longitude": -0.13}, "redirect_url": "\(euWestURL)"},
           {"name": "eu-central", "location": {"latitude": 50.11, "longitude": 8.68}, "redirect_url": "https://eu-central.example.test"},
           {"name": "us-east", "location": {"latitude": 39.04, "longitude": -77.49}, "redirect_url": "https://us-east.example.test"}
         ]}
        """
    }

    init(server serverSettings: String = "", extra: String = "") async throws {
        folder = try TemporaryDirectory()
        databasePath = "\(folder.path)/City.mmdb"
        try FileManager.default.copyItem(atPath: Fixtures.maxmind("GeoLite2-City-Test.mmdb"), toPath: databasePath)
        configPath = try folder.write(
            "regions.json", Self.config(database: databasePath, server: serverSettings, extra: extra))
        var logger = Logger(label: "ops-test")
        logger.logLevel = .critical
        let config = try ConfigLoader.load(path: configPath)
        server = try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
        checker = HealthChecker(
            registry: server.health, prober: HealthProber(group: server.eventLoopGroup), publisher: server.publisher,
            logger: logger, metrics: server.metrics)
        reloader = ConfigReloader(configPath: configPath, server: server, logger: logger)
        admin = try await AdminServer.start(
            listen: HostPort(host: "127.0.0.1", port: 0), token: Self.token, server: server, checker: checker,
            reloader: reloader, logger: logger)
        checking = Task { [checker] in try await checker.run() }
        port = server.localAddress!.port!
        adminPort = admin.localAddress!.port!
    }

    /// An admin request with the token.
    func admin(_ method: String, _ path: String, token: String? = OperationsRig.token) throws -> RawHTTPResponse {
        let client = try RawHTTPClient(port: adminPort)
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        return try client.exchange(
            "\(method) \(path) HTTP/1.1\r\nHost: admin\r\n\(authorization)Content-Length: 0\r\n\r\n")
    }

    func adminJSON(_ method: String, _ path: String) throws -> [String: Any] {
        let response = try admin(method, path)
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    /// The region the London client is sent to.
    func routeLondon(on client: RawHTTPClient? = nil) throws -> RawHTTPResponse {
        let connection = try client ?? RawHTTPClient(port: port)
        return try connection.exchange("GET /p HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n")
    }

    func stop() async throws {
        checking.cancel()
        _ = await checking.result
        await admin.stop()
        try await server.stop()
        folder.remove()
    }
}

@Suite(.serialized, .timeLimit(.minutes(5))) struct OperationsTests {
    @Test func adminAPIAnswersAndRequiresTheToken() async throws {
        let rig = try await OperationsRig()
        #expect(try rig.admin("GET", "/status", token: nil).status == 401)
        #expect(try rig.admin("GET", "/status", token: "wrong").status == 401)
        #expect(try rig.admin("GET", "/metrics", token: nil).status == 401)

        for _ in 0..<3 { #expect(try rig.routeLondon().header("x-geofront-region") == "eu-west") }
        let status = try rig.adminJSON("GET", "/status")
        #expect(status["generation"] as? Int == 1)
        #expect((status["database"] as? [String: Any])?["type"] as? String == "GeoLite2-City")
        let regions = status["regions"] as? [[String: Any]] ?? []
        #expect(regions.map { $0["name"] as? String } == ["eu-west", "eu-central", "us-east"])
        #expect(regions.first?["requests_last_minute"] as? Int == 3)
        #expect(regions.first?["traffic_share"] as? Double == 1.0)
        let byProtocol = status["requests_by_protocol"] as? [String: Int]
        #expect(byProtocol == ["http/1.1": 3, "h2": 0])

        let route = try rig.adminJSON("GET", "/route?ip=81.2.69.142")
        #expect(route["region"] as? String == "eu-west")
        #expect(try rig.admin("GET", "/route?ip=nonsense").status == 400)

        let metrics = String(decoding: try rig.admin("GET", "/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"geofront_requests_total{region="eu-west",mode="redirect",status="302"} 3"#))
        #expect(metrics.contains("geofront_decision_seconds_bucket"))
        #expect(metrics.contains(#"geofront_lookups_total{outcome="found"} 3"#))
        #expect(metrics.contains("geofront_open_connections"))
        #expect(metrics.contains("geofront_config_generation 1"))
        #expect(metrics.contains(#"geofront_requests_by_protocol_total{protocol="http/1.1"} 3"#))

        // Runtime drain and undrain.
        #expect(try rig.admin("POST", "/regions/eu-west/drain").status == 200)
        #expect(try rig.routeLondon().header("x-geofront-region") == "eu-central")
        let drained = (try rig.adminJSON("GET", "/status")["regions"] as? [[String: Any]])?.first
        #expect(drained?["drained"] as? Bool == true)
        #expect(drained?["available"] as? Bool == false)
        #expect(try rig.admin("POST", "/regions/eu-west/undrain").status == 200)
        #expect(try rig.routeLondon().header("x-geofront-region") == "eu-west")
        #expect(try rig.admin("POST", "/regions/mars/drain").status == 404)
        #expect(try rig.admin("GET", "/regions/eu-west/drain").status == 405)
        #expect(try rig.admin("GET", "/nothing").status == 404)

        // The status page: self-contained HTML with the map.
        let page = try rig.admin("GET", "/")
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(page.status == 200)
        #expect(page.header("content-type") == "text/html; charset=utf-8")
        #expect(html.contains("<svg"))
        #expect(html.contains("stroke-linejoin=\"round\""))  // the land outline
        #expect(html.utf8.count < 60_000)  // refreshed every 5 s: the map's land is about 16 KB
        #expect(html.contains("http-equiv=\"refresh\""))
        #expect(!html.contains("<script"))
        #expect(!html.contains("src=\"http"))
        #expect(!html.contains("href=\"http"))
        #expect(try rig.admin("GET", "/?token=\(OperationsRig.token)", token: nil).status == 200)
        try await rig.stop()
    }

    /// A load loop runs while the configuration and the database are reloaded 20 times: not one
    /// request fails. The clients behave like real HTTP clients (a new connection after
    /// `Connection: close`, one resend of a GET whose connection was closed before it was
    /// answered), and `server.max_requests_per_connection` is small, so connections reach their
    /// limit and are replaced over and over during the reloads, whatever the machine's speed.
    @Test func reloadsUnderLoadDropNothing() async throws {
        let limit = 50
        let serverSettings = #""max_requests_per_connection": \#(limit),"#
        let rig = try await OperationsRig(server: serverSettings)
        let port = rig.port
        let stop = Counter()
        let failures = Counter()
        let served = Counter()
        let reconnects = Counter()
        let closeResponses = Counter()
        let firstFailure = NSLockedBox<String?>(nil)
        let allowed: Set<String> = ["https://eu-west.example.test/p", "https://eu-west-2.example.test/p"]
        // Plain threads: blocking sockets must not sit on Swift's cooperative pool.
        let finished = Counter()
        let threads = 2
        defer { stop.add(1) }  // the load threads end even if the test throws
        for _ in 0..<threads {
            Thread.detachNewThread {
                defer { finished.add(1) }
                let client = ReconnectingHTTPClient(port: port)
                defer {
                    reconnects.add(client.reconnects)
                    closeResponses.add(client.closeResponses)
                }
                while stop.value == 0 {
                    do {
                        let response = try client.exchange(
                            "GET /p HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n")
                        if response.status == 302, allowed.contains(response.header("location") ?? "") {
                            served.add(1)
                        } else {
                            failures.add(1)
                            firstFailure.setIfNil(
                                "wrong answer: \(response.status) \(response.header("location") ?? "-")")
                        }
                    } catch {
                        failures.add(1)
                        firstFailure.setIfNil("no answer: \(error)")
                    }
                }
            }
        }
        for round in 1...20 {
            let url = round % 2 == 0 ? "https://eu-west.example.test" : "https://eu-west-2.example.test"
            let config = OperationsRig.config(database: rig.databasePath, euWestURL: url, server: serverSettings)
            try config.write(toFile: rig.configPath, atomically: true, encoding: .utf8)
            if round % 4 == 0 {
                // Replace the database the way updaters do: write elsewhere, rename over.
                let fresh = "\(rig.folder.path)/City.mmdb.new"
                try? FileManager.default.removeItem(atPath: fresh)
                try FileManager.default.copyItem(atPath: Fixtures.maxmind("GeoLite2-City-Test.mmdb"), toPath: fresh)
                #expect(rename(fresh, rig.databasePath) == 0)
            }
            let result = try rig.adminJSON("POST", "/reload")
            #expect(result["ok"] as? Bool == true, "\(result)")
            #expect(result["generation"] as? Int == round + 1)
            // Load between reloads: more than one connection's worth of requests, so that
            // connections reach their limit during the reloads on a fast machine and a slow one.
            let before = served.value + failures.value
            try await waitUntil("\(limit + 10) more requests after reload \(round)") {
                served.value + failures.value >= before + limit + 10
            }
        }
        stop.add(1)
        try await waitUntil("the load threads to finish") { finished.value == threads }
        print(
            "operations: 20 reloads under load, \(served.value) requests served, \(failures.value) failed, "
                + "\(closeResponses.value) connections closed at the limit of \(limit), \(reconnects.value) reconnects")
        #expect(failures.value == 0, "first failure: \(firstFailure.get() ?? "none")")
        #expect(served.value > 20 * (limit + 10) - failures.value)
        // Every connection was closed after its `limit`th request, and the clients went on.
        #expect(closeResponses.value >= served.value / limit - threads)
        #expect(reconnects.value >= served.value / limit - 2 * threads)
        #expect(reconnects.value >= 20)
        #expect(rig.server.publisher.current.generation == 21)
        try await rig.stop()
    }

    @Test func invalidReloadKeepsTheOldRoutingServing() async throws {
        let rig = try await OperationsRig()
        try #"{"listen": "127.0.0.1:0", "regions": [{"name": "x", "location": {"latitude": 123.4, "longitude": 0}}]}"#
            .write(toFile: rig.configPath, atomically: true, encoding: .utf8)
        let response = try rig.admin("POST", "/reload")
        #expect(response.status == 422)
        let body = String(decoding: response.body, as: UTF8.self)
        #expect(body.contains("regions[0].location.latitude: 123.4 is outside -90…90"), "\(body)")
        #expect(body.contains("\"generation\":1"))
        #expect(try rig.routeLondon().header("x-geofront-region") == "eu-west")
        // A corrupt database is refused the same way.
        try OperationsRig.config(database: Fixtures.maxmind("bad-data/cyclic-data-structure.mmdb"))
            .write(toFile: rig.configPath, atomically: true, encoding: .utf8)
        #expect(try rig.admin("POST", "/reload").status == 422)
        #expect(try rig.routeLondon().header("location") == "https://eu-west.example.test/p")
        let metrics = String(decoding: try rig.admin("GET", "/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"geofront_reloads_total{result="failed"} 2"#))
        #expect(rig.server.publisher.current.generation == 1)
        try await rig.stop()
    }

    @Test func replacedDatabaseIsPickedUp() async throws {
        let rig = try await OperationsRig()
        let started = Counter()
        let watcher = Task { [rig] in
            started.add(1)
            // run() notes the files it watches before it first suspends.
            try await WatchedFilesReloader(
                reloader: rig.reloader, publisher: rig.server.publisher, interval: .milliseconds(100)
            )
            .run()
        }
        try await waitUntil("the watcher to start") { started.value == 1 }
        // Replaced once; again only if the watcher (preempted between starting and noting the
        // files) took the replacement for the original. Normally the first is picked up.
        for attempt in 1...3 where rig.server.publisher.current.generation == 1 {
            let fresh = "\(rig.folder.path)/City.mmdb.new"
            try FileManager.default.copyItem(atPath: Fixtures.maxmind("GeoLite2-City-Test.mmdb"), toPath: fresh)
            #expect(rename(fresh, rig.databasePath) == 0)
            try? await waitUntil("the replaced database to be loaded (attempt \(attempt))", timeout: .seconds(10)) {
                rig.server.publisher.current.generation > 1
            }
        }
        #expect(rig.server.publisher.current.generation >= 2)
        watcher.cancel()
        _ = await watcher.result
        try await rig.stop()
    }

    @Test func accessLogWritesOneLinePerRequest() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let logPath = "\(folder.path)/access.log"
        let rig = try await OperationsRig(extra: #""access_log": {"path": "\#(logPath)", "format": "json"},"#)
        let client = try RawHTTPClient(port: rig.port)
        for _ in 0..<3 { _ = try rig.routeLondon(on: client) }
        _ = try client.exchange("GET /a%0d%0ab HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 2001:218::1\r\n\r\n")
        try await rig.stop()  // flushes the log
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any] ?? [:]
        #expect(first["client"] as? String == "81.2.69.142")
        #expect(first["country"] as? String == "GB")
        #expect(first["region"] as? String == "eu-west")
        #expect(first["status"] as? Int == 302)
        #expect(first["method"] as? String == "GET")
        #expect(first["target"] as? String == "/p")
        #expect((first["duration_ms"] as? Double ?? -1) >= 0)
        let last = try JSONSerialization.jsonObject(with: Data(lines[3].utf8)) as? [String: Any] ?? [:]
        #expect(last["country"] as? String == "JP")
    }

    /// A strict policy whose regions are all drained answers 503, and the access log names it.
    @Test func theAccessLogNamesThePolicyBehindA503() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let logPath = "\(folder.path)/access.log"
        let rig = try await OperationsRig(
            extra:
                #""access_log": {"path": "\#(logPath)", "format": "json"}, "policies": [{"name": "gb-central", "match": {"countries": ["GB"]}, "regions": ["eu-central"], "strict": true}],"#
        )
        #expect(try rig.routeLondon().header("x-geofront-region") == "eu-central")  // not eu-west, the nearest
        #expect(try rig.routeLondon().header("location")?.hasPrefix("https://eu-central.example.test") == true)
        #expect(try rig.admin("POST", "/regions/eu-central/drain").status == 200)
        #expect(try rig.routeLondon().status == 503)
        try await rig.stop()  // flushes the log
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        let entries = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        #expect(entries.map { $0["status"] as? Int } == [302, 302, 503])
        #expect(entries.allSatisfy { $0["policy"] as? String == "gb-central" })
    }

    @Test func reloadCarriesHealthStateAndDrainsOver() async throws {
        let rig = try await OperationsRig()
        #expect(try rig.admin("POST", "/regions/us-east/drain").status == 200)
        #expect(try rig.adminJSON("POST", "/reload")["ok"] as? Bool == true)
        let regions = try rig.adminJSON("GET", "/status")["regions"] as? [[String: Any]] ?? []
        #expect(regions.last?["drained"] as? Bool == true)
        try await rig.stop()
    }
}

@Suite(.serialized, .timeLimit(.minutes(5))) struct GracefulShutdownTests {
    /// A slow proxied request in flight when shutdown starts still gets its whole answer; new
    /// connections are refused; the server then stops.
    @Test func inFlightRequestFinishesDuringShutdown() async throws {
        // The upstream answers when the test says so, not after a delay a slow machine could outlast.
        let rig = try await ProxyRig(upstreams: ["eu-west": [("slow", .held)]])
        let port = rig.port
        let upstream = rig.upstreams["eu-west"]![0]
        let result = NSLockedBox<RawHTTPResponse?>(nil)
        let thread = Thread {
            let client = try? RawHTTPClient(port: port, source: "127.0.0.2", timeoutSeconds: 60)
            result.set(
                try? client?.exchange("GET /slow HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\n\r\n"))
        }
        thread.start()
        // Wait until the request is in flight: the upstream has read it and holds its answer.
        try await waitUntil("the request to reach the upstream") { !upstream.seen.isEmpty }
        #expect(upstream.seen.count == 1)
        let stopping = Task { try await rig.server.stop() }
        // The listener closes at once (well within the 10 s grace); the request in flight goes on.
        try await waitUntil("new connections to be refused", interval: .milliseconds(20)) {
            (try? RawHTTPClient(port: port)) == nil
        }
        #expect(result.get() == nil)  // still waiting for the upstream
        upstream.release()
        try await stopping.value
        // The client thread may still be reading the answer the server already sent.
        try await waitUntil("the client to read its answer") { result.get() != nil }
        let response = try #require(result.get())
        #expect(response.status == 200)
        #expect(response.upstreamName == "slow")
        for list in rig.upstreams.values { for upstream in list { upstream.shutdown() } }
    }
}

/// A value shared with a plain thread.
final class NSLockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    func get() -> Value { lock.withLock { value } }

    /// Sets the value unless one is already there (keeps the first of several reports).
    func setIfNil<Wrapped>(_ newValue: Wrapped) where Value == Wrapped? {
        lock.withLock { if value == nil { value = newValue } }
    }
}
