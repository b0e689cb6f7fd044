import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Fleet mode's configuration from etcd, end to end: a real etcd on loopback, real
/// `geofront serve` processes following `etcd://…/geofront-test`, and the `config push` and
/// `fleet status` commands. Each instance redirects to the one region's `redirect_url`, so the
/// `Location` a request gets shows which configuration it runs.
@Suite(.serialized, .timeLimit(.minutes(3))) struct FleetEtcdTests {
    static func config(_ target: String, extra: String = "") -> String {
        """
        {"listen": "127.0.0.1:0", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
         "server": {"threads": 1}, "admin": {"listen": "127.0.0.1:0"}\(extra),
         "regions": [{"name": "only", "location": {"latitude": 0, "longitude": 0}, "redirect_url": "https://\(target).example.test"}]}
        """
    }

    /// Refused by the loader: `default_region` names no region.
    static let badConfig = """
        {"listen": "127.0.0.1:0", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
         "default_region": "nowhere", "admin": {"listen": "127.0.0.1:0"},
         "regions": [{"name": "only", "location": {"latitude": 0, "longitude": 0}, "redirect_url": "https://bad.example.test"}]}
        """

    /// The host a fresh connection to `serve` is redirected to (nil: no redirect).
    static func target(_ serve: ServeProcess) throws -> String? {
        let response = try serve.connect().exchange("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        guard response.status == 302, let location = response.header("location") else { return nil }
        return URL(string: location)?.host
    }

    static func startFleet(_ etcd: EtcdServer, names: [String], arguments: [String] = []) throws -> [ServeProcess] {
        var started: [ServeProcess] = []
        do {
            for name in names {
                started.append(
                    try ServeProcess(configPath: etcd.url, arguments: ["--instance-id", name] + arguments))
            }
        } catch {
            for serve in started { serve.stop() }
            throw error
        }
        return started
    }

    @Test func threeInstancesFollowPutsRefuseBadOnesAndAreListed() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let etcd = try await offThePool { try EtcdServer(folder: folder.path) }
        defer { etcd.stop() }

        // config push refuses a bad file before it reaches etcd, naming the key and the reason.
        let bad = try folder.write("bad.json", Self.badConfig)
        let refusedPush = try await offThePool { try CLITests.run(["config", "push", bad, "--etcd", etcd.url]) }
        #expect(refusedPush.status != 0)
        #expect(refusedPush.stderr.contains("/geofront-test/config"), "\(refusedPush.stderr)")
        #expect(refusedPush.stderr.contains("default_region"), "\(refusedPush.stderr)")
        #expect(try await offThePool { try etcd.get("config") } == nil)

        // A good file is put; the new revision is printed.
        let good = try folder.write("v1.json", Self.config("v1"))
        let push = try await offThePool { try CLITests.run(["config", "push", good, "--etcd", etcd.url]) }
        #expect(push.status == 0, "\(push.stderr)")
        let first = try #require(try await offThePool { try etcd.get("config") })
        #expect(push.stdout.contains("revision \(first.revision)"), "\(push.stdout)")

        let fleet = try await offThePool { try Self.startFleet(etcd, names: ["fleet-a", "fleet-b", "fleet-c"]) }
        defer { for serve in fleet { serve.stop() } }
        for serve in fleet { #expect(try await offThePool { try Self.target(serve) } == "v1.example.test") }

        // Each instance records itself with the revision it runs; fleet status lists them.
        try await waitUntil("three instance records at revision \(first.revision)") {
            let records = try await offThePool { try etcd.instances() }
            return records.count == 3
                && records.values.allSatisfy { $0.revision == first.revision }
        }
        let status = try await offThePool { try CLITests.run(["fleet", "status", "--etcd", etcd.url]) }
        #expect(status.status == 0, "\(status.stderr)")
        for name in ["fleet-a", "fleet-b", "fleet-c"] {
            #expect(
                status.stdout.split(separator: "\n").contains {
                    $0.contains(name) && $0.contains(" \(first.revision) ")
                },
                "\(status.stdout)")
        }

        // A put reaches all three: the time from the put's return to each serving it.
        let (second, converged) = try await offThePool { () throws -> (Int64, [Double]) in
            let clock = ContinuousClock()
            let revision = try etcd.put("config", Self.config("v2"))
            let putReturned = clock.now
            var times: [Double?] = Array(repeating: nil, count: fleet.count)
            try waitUntilBlocking("all three instances to serve revision \(revision)", interval: .milliseconds(2)) {
                for (index, serve) in fleet.enumerated() where times[index] == nil {
                    if try Self.target(serve) == "v2.example.test" {
                        let elapsed = clock.now - putReturned
                        times[index] =
                            Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
                    }
                }
                return !times.contains(nil)
            }
            return (revision, times.map { $0! })
        }
        print(
            "etcd fleet: revision \(second) served by all three instances "
                + converged.map { String(format: "%.1f ms", $0) }.joined(separator: ", ") + " after the put returned")

        // A bad put is refused by each, recorded under instances/ID, and the old config keeps serving.
        let badRevision = try await offThePool { try etcd.put("config", Self.badConfig) }
        try await waitUntil("every instance to record refusing revision \(badRevision)") {
            let records = try await offThePool { try etcd.instances() }
            return records.count == 3
                && records.values.allSatisfy { record in
                    record.refusedRevision == badRevision && record.refusedError?.contains("default_region") == true
                        && record.revision == second
                }
        }
        for serve in fleet {
            #expect(try await offThePool { try Self.target(serve) } == "v2.example.test")
            #expect(serve.log.contains("reload failed; the previous configuration keeps serving"))
        }
        let afterBad = try await offThePool { try CLITests.run(["fleet", "status", "--etcd", etcd.url]) }
        #expect(afterBad.stdout.contains("revision \(badRevision): "), "\(afterBad.stdout)")

        // A deleted key changes nothing either; the next put applies.
        try await offThePool { try etcd.delete("config") }
        try await waitUntil("every instance to log the deletion") {
            fleet.allSatisfy { $0.log.contains("the configuration key was deleted from etcd") }
        }
        for serve in fleet { #expect(try await offThePool { try Self.target(serve) } == "v2.example.test") }
        _ = try await offThePool { try etcd.put("config", Self.config("v3")) }
        try await waitUntil("every instance to apply the put after the deletion") {
            try await offThePool { try fleet.allSatisfy { try Self.target($0) == "v3.example.test" } }
        }

        // A stopped instance's record goes with its lease (revoked on a graceful stop).
        try await offThePool { fleet[2].stop() }
        try await waitUntil("fleet-c's record to go") {
            try await offThePool { try etcd.instances() }.keys.sorted() == ["fleet-a", "fleet-b"]
        }
    }

    @Test func etcdOutageFailsNoRequestAndRecovers() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let etcd = try await offThePool { try EtcdServer(folder: folder.path) }
        defer { etcd.stop() }
        _ = try await offThePool { try etcd.put("config", Self.config("v1")) }
        let fleet = try await offThePool { try Self.startFleet(etcd, names: ["out-a", "out-b", "out-c"]) }
        defer { for serve in fleet { serve.stop() } }

        // Clients keep sending to every instance through the outage and the recovery.
        let load = LoadLoop(fleet)
        let loadDone = Task { try await offThePool { load.run() } }
        try await waitUntil("requests flowing") { load.tally().answered > 30 }

        try await offThePool { etcd.stop() }
        try await waitUntil("every instance to notice etcd is gone") {
            fleet.allSatisfy { $0.log.contains("etcd unreachable; the running configuration keeps serving") }
        }
        let during = load.tally().answered
        try await waitUntil("requests answered while etcd is down") { load.tally().answered > during + 100 }

        try await offThePool { try etcd.start() }
        let revision = try await offThePool { try etcd.put("config", Self.config("v2")) }
        try await waitUntil("every instance to apply revision \(revision) after the outage") {
            try await offThePool { try fleet.allSatisfy { try Self.target($0) == "v2.example.test" } }
        }
        load.stop()
        try await loadDone.value
        let tally = load.tally()
        print("etcd outage: \(tally.answered) requests answered, \(tally.failed) failed")
        #expect(tally.failed == 0, "\(load.failureList())")
        #expect(tally.answered > 0)
        for serve in fleet { #expect(serve.log.contains("etcd reachable again")) }
    }

    @Test func startsFromTheCacheWhenEtcdIsDownAndRefusesWithoutOne() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let etcd = try await offThePool { try EtcdServer(folder: folder.path) }
        defer { etcd.stop() }
        let revision = try await offThePool { try etcd.put("config", Self.config("cached")) }
        let cache = "\(folder.path)/cache/regions.json"
        try FileManager.default.createDirectory(atPath: "\(folder.path)/cache", withIntermediateDirectories: true)

        // A first run writes the cache.
        let first = try await offThePool {
            try ServeProcess(configPath: etcd.url, arguments: ["--config-cache", cache, "--instance-id", "cache-a"])
        }
        try await waitUntil("the cache file") { FileManager.default.fileExists(atPath: cache) }
        try await offThePool {
            first.stop()
            etcd.stop()
        }

        // With etcd down, the cache runs, and the log says so at warning level.
        let second = try await offThePool {
            try ServeProcess(configPath: etcd.url, arguments: ["--config-cache", cache, "--instance-id", "cache-a"])
        }
        defer { second.stop() }
        #expect(try await offThePool { try Self.target(second) } == "cached.example.test")
        let warning = second.log.split(separator: "\n").first { $0.contains("RUNNING FROM THE CONFIGURATION CACHE") }
        #expect(warning?.contains("warning") == true, "\(second.log)")
        #expect(warning?.contains("revision \(revision)") == true, "\(second.log)")
        #expect(warning?.contains("127.0.0.1:\(etcd.clientPort) is unreachable") == true, "\(second.log)")

        // Without a cache: a clear refusal naming etcd's address.
        let refused = try await offThePool { try CLITests.run(["serve", "--config", etcd.url]) }
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("etcd at 127.0.0.1:\(etcd.clientPort) is unreachable"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--config-cache"), "\(refused.stderr)")
    }

    /// `etcds://` with the authority that signed etcd's certificate (`?ca=`): pushes, follows and
    /// lists over TLS; without the authority the certificate is refused.
    @Test func followsEtcdOverTLSWithItsAuthority() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let certificates = try TestCertificates(in: folder, prefix: "etcd", serverName: "localhost")
        let etcd = try await offThePool { try EtcdServer(folder: folder.path, tls: certificates) }
        defer { etcd.stop() }
        let url = "etcds://localhost:\(etcd.tlsPort!)\(etcd.prefix)?ca=\(certificates.caCertificate)"
        let v1 = try folder.write("v1.json", Self.config("v1"))
        let untrusted = try await offThePool {
            try CLITests.run(["config", "push", v1, "--etcd", "etcds://localhost:\(etcd.tlsPort!)\(etcd.prefix)"])
        }
        #expect(untrusted.status != 0, "a certificate from an unknown authority must be refused")
        let push = try await offThePool { try CLITests.run(["config", "push", v1, "--etcd", url]) }
        #expect(push.status == 0, "\(push.stderr)")
        #expect(try await offThePool { try etcd.get("config") }?.value.contains("v1.example.test") == true)

        let serve = try await offThePool { try ServeProcess(configPath: url, arguments: ["--instance-id", "tls-a"]) }
        defer { serve.stop() }
        #expect(try await offThePool { try Self.target(serve) } == "v1.example.test")
        let v2 = try folder.write("v2.json", Self.config("v2"))
        #expect(try await offThePool { try CLITests.run(["config", "push", v2, "--etcd", url]) }.status == 0)
        try await waitUntil("the instance to apply v2 through a watch over TLS") {
            try await offThePool { try Self.target(serve) } == "v2.example.test"
        }
        try await waitUntil("the instance's record") {
            try await offThePool { try CLITests.run(["fleet", "status", "--etcd", url]) }.stdout.contains("tls-a")
        }
    }

    /// etcd with `--client-cert-auth`: `&cert=…&key=…` give this client's certificate; without it
    /// etcd refuses the client.
    @Test func presentsAClientCertificateWhenEtcdAsksForOne() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        // etcd's gateway presents etcd's own certificate to etcd: it must allow client use too.
        let certificates = try TestCertificates(
            in: folder, prefix: "etcd", serverName: "localhost", serverIsAlsoClient: true)
        let client = try certificates.clientCertificate(name: "geofront")
        let etcd = try await offThePool {
            try EtcdServer(folder: folder.path, tls: certificates, clientCertificates: true)
        }
        defer { etcd.stop() }
        let base = "etcds://localhost:\(etcd.tlsPort!)\(etcd.prefix)?ca=\(certificates.caCertificate)"
        let v1 = try folder.write("v1.json", Self.config("v1"))
        let anonymous = try await offThePool { try CLITests.run(["config", "push", v1, "--etcd", base]) }
        #expect(anonymous.status != 0, "etcd must refuse a client without a certificate")
        let url = base + "&cert=\(client.certificate)&key=\(client.key)"
        let push = try await offThePool { try CLITests.run(["config", "push", v1, "--etcd", url]) }
        #expect(push.status == 0, "\(push.stderr)")
        let serve = try await offThePool { try ServeProcess(configPath: url, arguments: ["--instance-id", "mtls-a"]) }
        defer { serve.stop() }
        #expect(try await offThePool { try Self.target(serve) } == "v1.example.test")
    }

    @Test func authenticatesWithAUserAndPassword() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let etcd = try await offThePool { try EtcdServer(folder: folder.path) }
        defer { etcd.stop() }
        try await offThePool { try etcd.enableAuthentication(password: "s3cret") }
        let url = etcd.url.replacingOccurrences(of: "etcd://", with: "etcd://root:s3cret@")
        let v1 = try folder.write("v1.json", Self.config("v1"))
        let anonymous = try await offThePool { try CLITests.run(["config", "push", v1, "--etcd", etcd.url]) }
        #expect(anonymous.status != 0)
        #expect(anonymous.stderr.contains("user name is empty"), "\(anonymous.stderr)")
        let push = try await offThePool { try CLITests.run(["config", "push", v1, "--etcd", url]) }
        #expect(push.status == 0, "\(push.stderr)")

        let serve = try await offThePool { try ServeProcess(configPath: url, arguments: ["--instance-id", "auth-a"]) }
        defer { serve.stop() }
        #expect(try await offThePool { try Self.target(serve) } == "v1.example.test")
        let v2 = try folder.write("v2.json", Self.config("v2"))
        #expect(try await offThePool { try CLITests.run(["config", "push", v2, "--etcd", url]) }.status == 0)
        try await waitUntil("the instance to apply v2 through an authenticated watch") {
            try await offThePool { try Self.target(serve) } == "v2.example.test"
        }
        try await waitUntil("the instance's record") {
            try await offThePool { try CLITests.run(["fleet", "status", "--etcd", url]) }.stdout.contains("auth-a")
        }
        #expect(!serve.log.contains("password"), "the password must not be logged")
    }
}

/// Requests to each instance in turn, on fresh connections, until stopped; counts the answers and
/// anything else (an error or a status other than the redirect).
final class LoadLoop: @unchecked Sendable {
    private let fleet: [ServeProcess]
    private let lock = NSLock()
    private var answered = 0
    private var failed = 0
    private var stopped = false
    private var failures: [String] = []

    init(_ fleet: [ServeProcess]) {
        self.fleet = fleet
    }

    func run() {
        var index = 0
        while !lock.withLock({ stopped }) {
            let serve = fleet[index % fleet.count]
            index += 1
            do {
                let response = try serve.connect().exchange("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                lock.withLock {
                    if response.status == 302 {
                        answered += 1
                    } else {
                        failed += 1
                        failures.append("status \(response.status)")
                    }
                }
            } catch {
                lock.withLock {
                    failed += 1
                    failures.append("\(error)")
                }
            }
        }
    }

    func stop() { lock.withLock { stopped = true } }

    func failureList() -> [String] { lock.withLock { failures } }

    func tally() -> (answered: Int, failed: Int) { lock.withLock { (answered, failed) } }
}
