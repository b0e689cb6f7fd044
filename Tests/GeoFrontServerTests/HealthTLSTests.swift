import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import NIOPosix
import TestSupport
import Testing

/// Health checks of `https://` targets and upstreams: over TLS, verified as the proxy verifies its
/// upstreams (`proxy.upstream_tls`, SNI from the URL's host or the upstream's `server_name`).
/// Real servers on 127.0.0.1: one serving HTTPS with a certificate for `localhost` signed by the
/// "trusted" CA, one speaking plain HTTP.
@Suite(.serialized) struct HealthTLSTests {
    final class Rig {
        let folder: TemporaryDirectory
        let trusted: TestCertificates
        let other: TestCertificates
        let secure: HealthTargetServer
        let plain: HealthTargetServer
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        init() throws {
            folder = try TemporaryDirectory()
            trusted = try TestCertificates(in: folder, prefix: "trusted")
            other = try TestCertificates(in: folder, prefix: "other")
            secure = try HealthTargetServer(tls: (trusted.serverCertificate, trusted.serverKey))
            plain = try HealthTargetServer()
        }

        var prober: HealthProber { HealthProber(group: group) }

        /// A check of `kind` with a deadline no loopback probe comes near.
        static func check(_ kind: HealthCheckSettings.Kind) -> HealthCheckSettings {
            HealthCheckSettings(kind: kind, intervalMilliseconds: 10_000, timeoutMilliseconds: 5000)
        }

        func trusting(_ certificates: TestCertificates) -> UpstreamTLSSettings {
            UpstreamTLSSettings(caFile: certificates.caCertificate)
        }

        func stop() {
            secure.shutdown()
            plain.shutdown()
            try? group.syncShutdownGracefully()
            folder.remove()
        }
    }

    static func failure(_ result: ProbeResult) -> String? {
        if case .fail(let failure) = result { return failure.description }
        return nil
    }

    @Test func httpsTargetWithATrustedCertificateIsHealthy() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let target = HealthTarget(
            address: HostPort(host: "127.0.0.1", port: rig.secure.port), path: "/healthz", tls: true,
            serverName: "localhost")
        let http = await rig.prober.probe(target, settings: Rig.check(.http), upstreamTLS: rig.trusting(rig.trusted))
        #expect(Self.failure(http) == nil, "\(http)")
        #expect(rig.secure.requests == 1)
        let tcp = await rig.prober.probe(target, settings: Rig.check(.tcp), upstreamTLS: rig.trusting(rig.trusted))
        #expect(Self.failure(tcp) == nil, "\(tcp)")
        // The HTTP check's verdict comes from the status, over TLS.
        rig.secure.behaviour = .status(503)
        let down = await rig.prober.probe(target, settings: Rig.check(.http), upstreamTLS: rig.trusting(rig.trusted))
        #expect(Self.failure(down) == "status 503")
    }

    @Test func untrustedCertificateFailsWithAVerificationReason() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let target = HealthTarget(
            address: HostPort(host: "127.0.0.1", port: rig.secure.port), tls: true, serverName: "localhost")
        for kind in [HealthCheckSettings.Kind.http, .tcp] {
            let result = await rig.prober.probe(target, settings: Rig.check(kind), upstreamTLS: rig.trusting(rig.other))
            let reason = try #require(Self.failure(result), "\(kind) check passed with an untrusted certificate")
            #expect(reason.hasPrefix("tls: certificate verify failed"), "\(reason)")
        }
        // Without upstream_tls the system's trust store is used, which does not know the test CA.
        let system = await rig.prober.probe(target, settings: Rig.check(.http))
        #expect(Self.failure(system)?.hasPrefix("tls: certificate verify failed") == true, "\(system)")
        #expect(rig.secure.requests == 0)  // no request is sent over an unverified connection
    }

    @Test func wrongServerNameFailsWithAVerificationReason() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let target = HealthTarget(
            address: HostPort(host: "127.0.0.1", port: rig.secure.port), tls: true, serverName: "origin.example")
        for kind in [HealthCheckSettings.Kind.http, .tcp] {
            let result = await rig.prober.probe(
                target, settings: Rig.check(kind), upstreamTLS: rig.trusting(rig.trusted))
            #expect(
                Self.failure(result) == "tls: certificate verify failed: the certificate is not for origin.example",
                "\(kind): \(result)")
        }
        #expect(rig.secure.requests == 0)
    }

    @Test func plainHTTPServerIsNotATLSTarget() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let target = HealthTarget(
            address: HostPort(host: "127.0.0.1", port: rig.plain.port), tls: true, serverName: "localhost")
        for kind in [HealthCheckSettings.Kind.http, .tcp] {
            let result = await rig.prober.probe(
                target, settings: Rig.check(kind), upstreamTLS: rig.trusting(rig.trusted))
            let reason = try #require(Self.failure(result), "\(kind) check passed against a plain HTTP server")
            #expect(reason.hasPrefix("tls: handshake failed"), "\(kind): \(reason)")
        }
    }

    @Test func closedPortIsRefusedNotATLSFailure() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        try rig.secure.stop()
        let target = HealthTarget(
            address: HostPort(host: "127.0.0.1", port: rig.secure.port), tls: true, serverName: "localhost")
        for kind in [HealthCheckSettings.Kind.http, .tcp] {
            let result = await rig.prober.probe(
                target, settings: Rig.check(kind), upstreamTLS: rig.trusting(rig.trusted))
            #expect(Self.failure(result) == "connection refused", "\(kind): \(result)")
        }
    }

    @Test func unreadableCAFileFailsTheProbe() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let target = HealthTarget(
            address: HostPort(host: "127.0.0.1", port: rig.secure.port), tls: true, serverName: "localhost")
        let result = await rig.prober.probe(
            target, settings: Rig.check(.http), upstreamTLS: UpstreamTLSSettings(caFile: "/nonexistent/ca.pem"))
        #expect(
            Self.failure(result)?.hasPrefix(
                "tls: proxy.upstream_tls.ca_file: /nonexistent/ca.pem: not a readable PEM certificate file") == true,
            "\(result)")
    }

    /// A proxy configuration with three regions: `secure` proxies to the HTTPS server
    /// (`https://localhost:port`), `tls-to-plain` proxies over TLS to the plain HTTP server, and
    /// `plain` to the same plain server without TLS; `by-url` checks the HTTPS server by `url`.
    static func config(_ rig: Rig, caFile: String) throws -> GeoFrontConfig {
        let object: [String: Any] = [
            "listen": "127.0.0.1:0", "geoip": ["database": Fixtures.maxmind("GeoLite2-City-Test.mmdb")],
            "mode": "proxy", "server": ["threads": 1],
            "proxy": ["upstream_tls": ["ca_file": caFile]],
            "health_check": [
                "type": "http", "path": "/healthz", "interval_ms": 1000, "timeout_ms": 900, "rise": 1, "fall": 1,
            ],
            "regions": [
                [
                    "name": "secure", "location": ["latitude": 0, "longitude": 0],
                    "upstreams": ["https://localhost:\(rig.secure.port)"],
                ],
                [
                    "name": "tls-to-plain", "location": ["latitude": 10, "longitude": 0],
                    "upstreams": [["address": "127.0.0.1:\(rig.plain.port)", "tls": true, "server_name": "localhost"]],
                ],
                [
                    "name": "plain", "location": ["latitude": 20, "longitude": 0],
                    "upstreams": ["127.0.0.1:\(rig.plain.port)"],
                ],
                [
                    "name": "by-url", "location": ["latitude": 30, "longitude": 0],
                    "upstreams": ["127.0.0.1:\(rig.plain.port)"], "url": "https://localhost:\(rig.secure.port)/ready",
                ],
            ],
        ]
        return try ConfigLoader.parse(try JSONSerialization.data(withJSONObject: object), baseDirectory: "/")
    }

    @Test func httpsUpstreamsAreCheckedOverTLS() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let config = try Self.config(rig, caFile: rig.trusted.caCertificate)
        #expect(config.regions.map { $0.healthTargets.map(\.tls) } == [[true], [true], [false], [true]])
        var logger = Logger(label: "health-tls-test")
        logger.logLevel = .critical
        let server = try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
        let checker = HealthChecker(
            registry: server.health, prober: HealthProber(group: server.eventLoopGroup), publisher: server.publisher,
            logger: logger)
        let checking = Task { try await checker.run() }
        // fall 1: each target's first probe settles it.
        try await waitUntil("every target probed once") {
            server.healthMonitor.targetSnapshots().allSatisfy { $0.health.lastResult != nil }
        }
        let health = Dictionary(
            uniqueKeysWithValues: server.healthMonitor.targetSnapshots().map { ($0.region, $0.health) })
        #expect(health["secure"]?.isHealthy == true, "\(String(describing: health["secure"]?.lastResult))")
        #expect(health["by-url"]?.isHealthy == true, "\(String(describing: health["by-url"]?.lastResult))")
        #expect(health["plain"]?.isHealthy == true)
        #expect(health["tls-to-plain"]?.isHealthy == false)
        // The reason reaches the published statuses (status page, admin, `explain`).
        try await waitUntil("tls-to-plain published unavailable") {
            server.publisher.current.statuses[1].isAvailable == false
        }
        let statuses = server.publisher.current.statuses
        #expect(statuses.map(\.isAvailable) == [true, false, true, true])
        let reason = try #require(statuses[1].unavailableReason)
        #expect(reason.contains("tls: handshake failed"), "\(reason)")
        #expect(rig.secure.requests >= 2)  // secure's and by-url's probes, both over TLS
        checking.cancel()
        _ = await checking.result
        try await server.stop()
    }

    @Test func probeOnceVerifiesWithTheConfiguredCA() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let config = try Self.config(rig, caFile: rig.trusted.caCertificate)
        let statuses = await HealthChecker.probeOnce(
            regions: config.regions, upstreamTLS: config.proxy.upstreamTLS, prober: rig.prober)
        #expect(statuses.map(\.isAvailable) == [true, false, true, true])

        // Trusting another CA, every TLS target fails verification.
        let distrustful = try Self.config(rig, caFile: rig.other.caCertificate)
        let refused = await HealthChecker.probeOnce(
            regions: distrustful.regions, upstreamTLS: distrustful.proxy.upstreamTLS, prober: rig.prober)
        #expect(refused.map(\.isAvailable) == [false, false, true, false])
        #expect(refused[0].unavailableReason?.contains("tls: certificate verify failed") == true)
        #expect(refused[3].unavailableReason?.contains("tls: certificate verify failed") == true)
    }
}
