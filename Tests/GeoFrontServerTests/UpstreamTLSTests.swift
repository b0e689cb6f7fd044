import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import TestSupport
import Testing

/// HTTPS to upstreams: verified against the configured CA, refused (502) when the certificate
/// is not trusted.
@Suite(.serialized) struct UpstreamTLSTests {
    static func start(upstream: TestUpstream, caFile: String) async throws -> FrontDoorServer {
        let object: [String: Any] = [
            "listen": "127.0.0.1:0", "geoip": ["database": Fixtures.maxmind("GeoLite2-City-Test.mmdb")],
            "mode": "proxy", "server": ["threads": 1],
            "proxy": ["upstream_tls": ["ca_file": caFile], "max_attempts": 1],
            "regions": [
                [
                    "name": "secure", "location": ["latitude": 0, "longitude": 0],
                    "upstreams": [["address": upstream.address, "tls": true, "server_name": "localhost"]],
                ]
            ],
        ]
        let config = try ConfigLoader.parse(try JSONSerialization.data(withJSONObject: object), baseDirectory: "/")
        var logger = Logger(label: "tls-test")
        logger.logLevel = .critical
        return try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
    }

    @Test func verifiedTLSUpstream() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let trusted = try TestCertificates(in: folder, prefix: "trusted")
        let other = try TestCertificates(in: folder, prefix: "other")
        let upstream = try TestUpstream(
            name: "tls-origin", tls: (trusted.serverCertificate, trusted.serverKey))
        defer { upstream.shutdown() }

        let server = try await Self.start(upstream: upstream, caFile: trusted.caCertificate)
        let response = try RawHTTPClient(port: server.localAddress!.port!).exchange(
            "GET /s HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(response.status == 200)
        #expect(response.header("x-upstream") == "tls-origin")
        try await server.stop()

        // Same origin, but GeoFront trusts another CA: the handshake fails, the client gets 502.
        let distrustful = try await Self.start(upstream: upstream, caFile: other.caCertificate)
        let refused = try RawHTTPClient(port: distrustful.localAddress!.port!).exchange(
            "GET /s HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(refused.status == 502)
        #expect(upstream.seen.count == 1)  // only the verified request got through
        try await distrustful.stop()
    }

    @Test func unreadableCAFileIsAClearErrorAtStart() async throws {
        let upstream = try TestUpstream(name: "x")
        defer { upstream.shutdown() }
        await #expect {
            _ = try await Self.start(upstream: upstream, caFile: "/nonexistent/ca.pem")
        } throws: { error in
            "\(error)".hasPrefix("proxy.upstream_tls.ca_file: /nonexistent/ca.pem: not a readable PEM certificate file")
        }
    }
}
