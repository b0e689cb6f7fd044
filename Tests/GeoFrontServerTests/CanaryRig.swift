import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import TestSupport

/// A canary as an operator runs one: a configuration file with the route `api` splitting between
/// the services `stable` and `canary` (both in eu-central, one echo upstream each), the reloader
/// and the admin listener with a token.
final class CanaryRig: Sendable {
    static let token = "canary-token"
    let folder: TemporaryDirectory
    let configPath: String
    let stable: TestUpstream
    let canary: TestUpstream
    let server: FrontDoorServer
    let reloader: ConfigReloader
    let admin: AdminServer
    let port: Int
    let adminPort: Int

    init(
        stable stableWeight: Int, canary canaryWeight: Int, canaryBehaviour: TestUpstream.Behaviour = .echo,
        sticky: String = #"{"header": "x-user"}"#, rollback: String? = nil
    ) async throws {
        folder = try TemporaryDirectory()
        stable = try TestUpstream(name: "stable")
        canary = try TestUpstream(name: "canary", canaryBehaviour)
        configPath = try folder.write(
            "regions.json",
            Self.config(
                stable: stable.address, canary: canary.address, weights: (stableWeight, canaryWeight), sticky: sticky,
                rollback: rollback))
        var logger = Logger(label: "canary-test")
        logger.logLevel = .critical
        let config = try ConfigLoader.load(path: configPath)
        server = try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
        reloader = ConfigReloader(configPath: configPath, server: server, logger: logger)
        admin = try await AdminServer.start(
            listen: HostPort(host: "127.0.0.1", port: 0), token: Self.token, server: server, checker: nil,
            reloader: reloader, logger: logger)
        port = server.localAddress!.port!
        adminPort = admin.localAddress!.port!
    }

    static func config(
        stable: String, canary: String, weights: (Int, Int), sticky: String, rollback: String?
    ) -> String {
        """
        {"listen": "127.0.0.1:0", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
         "mode": "proxy", "trusted_proxies": ["127.0.0.0/8"], "default_region": "eu-central",
         "server": {"threads": 1},
         "regions": [
           {"name": "eu-west", "location": {"latitude": 51.51, "longitude": -0.13}},
           {"name": "eu-central", "location": {"latitude": 50.11, "longitude": 8.68}}
         ],
         "services": {
           "stable": {"upstreams": {"eu-central": ["\(stable)"]}},
           "canary": {"upstreams": {"eu-central": ["\(canary)"]}}
         },
         "routes": [
           {"name": "api", "sticky": \(sticky), \(rollback.map { "\"rollback\": \($0)," } ?? "")
            "backends": [{"service": "stable", "weight": \(weights.0)}, {"service": "canary", "weight": \(weights.1)}]}
         ]}
        """
    }

    /// Rewrites the file with other configured weights and reloads it.
    func reload(stable stableWeight: Int, canary canaryWeight: Int, sticky: String = #"{"header": "x-user"}"#)
        throws -> [String: Any]
    {
        _ = try folder.write(
            "regions.json",
            Self.config(
                stable: stable.address, canary: canary.address, weights: (stableWeight, canaryWeight), sticky: sticky,
                rollback: nil))
        return try adminJSON("POST", "/reload")
    }

    /// An admin request with the token.
    func admin(_ method: String, _ path: String, body: String = "") throws -> RawHTTPResponse {
        let client = try RawHTTPClient(port: adminPort, timeoutSeconds: 30)
        return try client.exchange(
            "\(method) \(path) HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer \(Self.token)\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
    }

    func adminJSON(_ method: String, _ path: String, body: String = "") throws -> [String: Any] {
        let response = try admin(method, path, body: body)
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    /// The backend each of `users` (sent as `x-user`) lands on, pipelined on one connection that
    /// is reopened when the server closes it.
    func backends(users: Range<Int>) throws -> [Int: String] {
        var client = try RawHTTPClient(port: port, timeoutSeconds: 30)
        var result: [Int: String] = [:]
        var next = users.lowerBound
        while next < users.upperBound {
            let batch = next..<min(users.upperBound, next + 100)
            _ = client.send(
                batch.map { "GET /p HTTP/1.1\r\nHost: api.example\r\nx-user: user-\($0)\r\n\r\n" }.joined())
            for user in batch {
                do {
                    result[user] = try client.readResponse().upstreamName ?? "?"
                } catch let error as RawHTTPError where error.closedBeforeResponse {
                    client = try RawHTTPClient(port: port, timeoutSeconds: 30)
                    break
                }
                next += 1
            }
        }
        return result
    }

    func stop() async throws {
        await admin.stop()
        try await server.stop()
        stable.shutdown()
        canary.shutdown()
        folder.remove()
    }
}
