import Foundation
import GeoFrontCore
import NIOPosix
import TestSupport
import Testing

@testable import GeoFrontServer

/// Upstreams with `"protocol": "h2"` (`Tests/Fixtures/h2upstream.py`, Python `h2`): HTTP/1.1 and
/// HTTP/2 clients reach them through the same exchange; their trailers reach both; streams are
/// multiplexed within the upstream's SETTINGS_MAX_CONCURRENT_STREAMS over as few connections as
/// that allows; flow control holds both ways (a slow reader slows the upstream, a slow upstream
/// slows the client's upload); TLS with ALPN h2 and the health check over h2.
@Suite(.serialized) struct H2UpstreamTests {
    static func start(
        _ upstream: PythonService, tls: Bool = false, extra: [String: Any] = [:]
    ) async throws -> FrontDoorServer {
        var entry: [String: Any] = ["address": upstream.address, "protocol": "h2"]
        if tls {
            entry["address"] = "https://127.0.0.1:\(upstream.port)"
            entry["server_name"] = "localhost"
        }
        var settings: [String: Any] = ["server": ["threads": 1, "h2c": true]]
        settings.merge(extra) { _, new in new }
        return try await ProxyFrontEndTests.start(upstream: entry, extra: settings)
    }

    /// The upstream's own counters (`/stats`, asked directly over h2c).
    struct Stats: Decodable, Sendable {
        let connections: Int
        let maxStreamsSeen: Int
        let maxHeld: Int
        let resets: Int
        let sent: Int
        let blocked: Bool
        let received: Int
    }

    static func stats(_ upstream: PythonService) async throws -> Stats {
        let reply = try await offThePool {
            try H2Clients.curl("http://\(upstream.address)/stats", ["--http2-prior-knowledge"])
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Stats.self, from: Data(reply.body.utf8))
    }

    @Test func http1AndH2ClientsReachAnH2UpstreamAndGetItsTrailers() async throws {
        let upstream = try await offThePool { try PythonService("h2upstream.py") }
        defer { upstream.stop() }
        let server = try await Self.start(upstream)
        let base = "http://127.0.0.1:\(server.localAddress!.port!)"

        // HTTP/1.1 in, HTTP/2 out: the head as RFC 9113 §8.3.1 has it.
        let posted = try await offThePool { try H2Clients.curl(base + "/echo?a=1", ["--http1.1", "-d", "abc"]) }
        #expect(posted.status == 200 && posted.version == "1.1")
        let echo = try #require(posted.echo)
        #expect(echo["method"] as? String == "POST")
        #expect(echo["path"] as? String == "/echo?a=1")
        #expect(echo["scheme"] as? String == "http")
        #expect(echo["authority"] as? String == "127.0.0.1:\(server.localAddress!.port!)")
        #expect(echo["body"] as? Int == 3)
        let headers = try #require(echo["headers"] as? [String: String])
        #expect(headers["te"] == "trailers")
        #expect(headers["via"] == "1.1 geofront")
        for gone in ["connection", "keep-alive", "transfer-encoding", "host"] {
            #expect(headers[gone] == nil, "\(gone)")
        }

        // Trailers after the body, to an HTTP/2 client (a HEADERS frame) and an HTTP/1.1 one
        // (the chunked body's trailer section).
        for protocolOption in ["--http2-prior-knowledge", "--http1.1"] {
            let output = try await offThePool {
                try H2Clients.run(
                    ["curl", "-sS", "-i", "--max-time", "20", protocolOption, "-H", "x-trailer: yes", base + "/echo/t"])
            }.output
            #expect(output.contains("x-upstream: h2"), "\(output)")
            #expect(output.hasSuffix("}x-checksum: 0\r\n") || output.hasSuffix("}x-checksum: 0\r\n\r\n"), "\(output)")
        }
        try await server.stop()
    }

    @Test func streamsShareFewConnectionsWithinTheUpstreamsLimit() async throws {
        let upstream = try await offThePool { try PythonService("h2upstream.py", ["--max-streams", "5"]) }
        defer { upstream.stop() }
        let server = try await Self.start(upstream)
        let url = "http://127.0.0.1:\(server.localAddress!.port!)/hold/20"

        // 20 requests the upstream holds until all 20 are in: at most 5 streams on a
        // connection, so exactly 4 connections, made one at a time as each one fills.
        let statuses = try await offThePool { try H2Clients.nghttp(url, count: 20) }
        #expect(statuses == Array(repeating: 200, count: 20))
        let first = try await Self.stats(upstream)
        #expect(first.maxHeld == 20)
        #expect(first.maxStreamsSeen == 5)
        // Four of GeoFront's, one of this test's /stats.
        #expect(first.connections == 4 + 1)

        // Again: the same four connections take the next 20.
        let again = try await offThePool { try H2Clients.nghttp(url, count: 20) }
        #expect(again == Array(repeating: 200, count: 20))
        let second = try await Self.stats(upstream)
        #expect(second.connections == 4 + 2)
        #expect(second.maxStreamsSeen == 5)
        try await server.stop()
    }

    @Test func aSlowReaderSlowsTheUpstreamAndItsResetCancelsTheUpstreamStream() async throws {
        let upstream = try await offThePool { try PythonService("h2upstream.py") }
        defer { upstream.stop() }
        let server = try await Self.start(upstream)
        let port = server.localAddress!.port!

        // The client reads its first 64 KiB window of a 20 MB answer and no more.
        let reader = try H2Clients.Running("slow-reader", port: port, options: ["--path", "/download/20000000"])
        #expect(try await offThePool { reader.readLine() } == "headers")
        try await waitUntil("the upstream waiting on its window") {
            let stats = try await Self.stats(upstream)
            return stats.blocked && stats.sent >= 65_535
        }
        let sent = try await Self.stats(upstream).sent
        #expect(sent < 1_000_000, "the upstream sent \(sent) bytes of 20 MB to a client that reads none")
        reader.proceed()
        _ = try await offThePool { try reader.finish() }
        try await waitUntil("the upstream stream cancelled") {
            try await Self.stats(upstream).resets == 1
        }
        try await server.stop()
    }

    @Test func anUpstreamThatDoesNotReadSlowsTheClientsUpload() async throws {
        let upstream = try await offThePool { try PythonService("h2upstream.py") }
        defer { upstream.stop() }
        let server = try await Self.start(upstream)

        // /sink never opens its window: GeoFront may pass on 64 KiB and hold a little, and the
        // client's windows must then stay shut (20 MB offered).
        let output = try await offThePool {
            try H2Clients.run(
                [
                    "python3", Fixtures.fixture("h2probe.py"), "slow-upload", String(server.localAddress!.port!),
                    "--path", "/sink", "--count", "20000",
                ])
        }
        let line = try #require(output.output.split(separator: "\n").first { $0.hasPrefix("sent ") })
        let sent = Int(line.dropFirst("sent ".count)) ?? -1
        #expect(sent > 0 && sent < 1_000_000, "the client could send \(sent) bytes of 20 MB")
        #expect(try await Self.stats(upstream).received == 65_535)
        try await waitUntil("the upstream stream cancelled") {
            try await Self.stats(upstream).resets == 1
        }
        try await server.stop()
    }

    @Test func anUpstreamThatNeverSpeaksH2IsGivenUpOnAndTriedAgain() async throws {
        // It accepts connections and says nothing: no SETTINGS ever come.
        let silent = try await offThePool { try PythonService("h2upstream.py", ["--silent"]) }
        let server = try await Self.start(silent, extra: ["proxy": ["connect_timeout_ms": 300]])
        let base = "http://127.0.0.1:\(server.localAddress!.port!)"
        for path in ["/echo/1", "/echo/2"] {
            let refused = try await offThePool { try H2Clients.curl(base + path, ["--http1.1"]) }
            #expect(refused.status == 502)
        }
        // Each request's connection was given up on (closed) and the next one made anew.
        try await server.stop()
        let said = try await offThePool { silent.finish() }.split(separator: "\n")
        #expect(said == ["accepted", "closed", "accepted", "closed"], "\(said)")
    }

    @Test func h2OverTLSWithALPNAndHealthChecksOverH2() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let certificates = try TestCertificates(in: folder)
        let secure = try await offThePool {
            try PythonService("h2upstream.py", ["--tls", certificates.serverCertificate, certificates.serverKey])
        }
        defer { secure.stop() }
        let plain = try await offThePool { try PythonService("h2upstream.py") }
        defer { plain.stop() }

        // The proxy over TLS, ALPN h2, the certificate checked against the test authority.
        let server = try await Self.start(
            secure, tls: true, extra: ["proxy": ["upstream_tls": ["ca_file": certificates.caCertificate]]])
        let reply = try await offThePool {
            try H2Clients.curl("http://127.0.0.1:\(server.localAddress!.port!)/echo/tls", ["--http1.1"])
        }
        #expect(reply.status == 200)
        #expect(reply.echo?["scheme"] as? String == "https")
        try await server.stop()

        // Health checks of h2 upstreams speak h2 (TLS with ALPN h2, or h2c); an HTTP/1.1 check
        // of the same upstream fails, so the check is not passing by accident.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let prober = HealthProber(group: group)
        let check = HealthCheckSettings(kind: .http, intervalMilliseconds: 10_000, timeoutMilliseconds: 5000)
        let trust = UpstreamTLSSettings(caFile: certificates.caCertificate)
        for (service, tls) in [(secure, true), (plain, false)] {
            let address = HostPort(host: "127.0.0.1", port: service.port)
            let h2 = HealthTarget(
                address: address, path: "/echo/health", tls: tls, serverName: "localhost", http2: true)
            let passed = await prober.probe(h2, settings: check, upstreamTLS: trust)
            #expect(HealthTLSTests.failure(passed) == nil, "\(passed)")
            let http1 = HealthTarget(address: address, path: "/echo/health", tls: tls, serverName: "localhost")
            let failed = await prober.probe(http1, settings: check, upstreamTLS: trust)
            #expect(HealthTLSTests.failure(failed) != nil, "an HTTP/1.1 check of an h2-only upstream passed")
        }
        try await group.shutdownGracefully()
    }
}
