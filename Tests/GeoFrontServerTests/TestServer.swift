import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import NIOCore
import TestSupport

/// A real GeoFront front door on an ephemeral loopback port, with MaxMind's City test database.
/// Only 127.0.0.2 is a trusted proxy, so tests connecting from 127.0.0.1 are untrusted clients.
struct TestServer {
    static let regions: [(name: String, latitude: Double, longitude: Double)] = [
        ("us-east", 39.04, -77.49),
        ("us-west", 45.60, -121.18),
        ("eu-west", 51.51, -0.13),
        ("eu-central", 50.11, 8.68),
        ("eu-north", 59.33, 18.07),
        ("ap-south", 19.08, 72.88),
        ("ap-southeast", 1.35, 103.82),
        ("ap-northeast", 35.68, 139.69),
    ]

    static func configJSON(server: [String: Any] = [:], redirectStatus: Int = 302, extra: [String: Any] = [:])
        -> [String: Any]
    {
        var object: [String: Any] = [
            "listen": "127.0.0.1:0",
            "geoip": ["database": Fixtures.maxmind("GeoLite2-City-Test.mmdb")],
            "mode": "redirect",
            "redirect": ["status": redirectStatus],
            "trusted_proxies": ["127.0.0.2/32"],
            "default_region": "eu-central",
            "server": server.merging(["threads": 1]) { mine, _ in mine },
            "regions": regions.map { region in
                [
                    "name": region.name, "location": ["latitude": region.latitude, "longitude": region.longitude],
                    "redirect_url": "https://\(region.name).example.test",
                ] as [String: Any]
            },
        ]
        for (key, value) in extra { object[key] = value }
        return object
    }

    let server: FrontDoorServer
    let port: Int

    static func start(server settings: [String: Any] = [:], redirectStatus: Int = 302, extra: [String: Any] = [:])
        async throws -> TestServer
    {
        let data = try JSONSerialization.data(
            withJSONObject: configJSON(server: settings, redirectStatus: redirectStatus, extra: extra))
        let config = try ConfigLoader.parse(data, baseDirectory: "/")
        let snapshot = try RoutingSnapshot.open(config: config)
        var logger = Logger(label: "geofront-test")
        logger.logLevel = .warning
        let server = try await FrontDoorServer.start(snapshot: snapshot, logger: logger)
        return TestServer(server: server, port: server.localAddress!.port!)
    }

    /// A connection from a trusted proxy (127.0.0.2).
    func trustedClient() throws -> RawHTTPClient {
        try RawHTTPClient(port: port, source: "127.0.0.2")
    }

    /// A connection from an untrusted peer (127.0.0.1).
    func untrustedClient() throws -> RawHTTPClient {
        try RawHTTPClient(port: port, source: "127.0.0.1")
    }

    /// Asserts the server still answers a plain request correctly on a new connection.
    func isServing() throws -> Bool {
        let client = try trustedClient()
        let response = try client.exchange(
            "GET /still-here HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 89.160.20.112\r\n\r\n")
        return response.status == 302
            && response.header("location") == "https://eu-north.example.test/still-here"
    }

    func stop() async throws {
        try await server.stop()
    }
}

/// Runs `body` against a fresh server and always stops it.
func withServer(
    server settings: [String: Any] = [:], redirectStatus: Int = 302, extra: [String: Any] = [:],
    _ body: (TestServer) async throws -> Void
) async throws {
    let server = try await TestServer.start(server: settings, redirectStatus: redirectStatus, extra: extra)
    do {
        try await body(server)
    } catch {
        try? await server.stop()
        throw error
    }
    try await server.stop()
}
