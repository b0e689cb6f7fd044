import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import TestSupport

/// GeoFront in proxy mode with `cache` in front of a ``CacheOrigin`` (one region, `local`), for
/// the cache's conformance tests: real servers on loopback, real HTTP.
final class CacheRig {
    let origin: CacheOrigin
    let server: FrontDoorServer
    let port: Int

    /// - Parameters:
    ///   - cache: the `cache` section.
    ///   - extra: more top-level keys (e.g. `proxy`).
    init(cache: [String: Any] = [:], extra: [String: Any] = [:]) async throws {
        origin = try CacheOrigin()
        var object: [String: Any] = [
            "listen": "127.0.0.1:0", "geoip": ["database": Fixtures.maxmind("GeoLite2-City-Test.mmdb")],
            "mode": "proxy", "trusted_proxies": ["127.0.0.1/32"], "default_region": "local",
            "server": ["threads": 1], "cache": cache, "admin": NSNull(),
            "regions": [
                [
                    "name": "local", "location": ["latitude": 51.5, "longitude": -0.1],
                    "upstreams": [origin.address],
                ]
            ],
        ]
        for (key, value) in extra { object[key] = value }
        let config = try ConfigLoader.parse(try JSONSerialization.data(withJSONObject: object), baseDirectory: "/")
        var logger = Logger(label: "geofront-cache-test")
        logger.logLevel = .critical
        server = try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
        port = server.localAddress!.port!
        // Responses age only when a test says so (``advanceClock(by:)``), however long a busy
        // machine takes between two requests.
        server.caches.freezeClock()
    }

    /// One request on a new connection: `method path`, `Host: cache.example`, and `headers`.
    func request(
        _ path: String, method: String = "GET", headers: [(String, String)] = [], body: String? = nil
    ) async throws -> RawHTTPResponse {
        let port = port
        return try await offThePool {
            let client = try RawHTTPClient(port: port)
            var text = "\(method) \(path) HTTP/1.1\r\nHost: cache.example\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
            text += "\r\n" + (body ?? "")
            if method == "HEAD" {
                _ = client.send(text)
                return try client.readResponse(toHead: true)
            }
            _ = client.send(text)
            return try client.readResponse(decodeChunked: true)
        }
    }

    func get(_ path: String, _ headers: [(String, String)] = []) async throws -> RawHTTPResponse {
        try await request(path, headers: headers)
    }

    /// Ages every stored response by `seconds` (the cache's clock moves; nothing waits).
    func advance(_ seconds: Int) {
        server.caches.advanceClock(by: seconds)
    }

    func stop() async throws {
        try await server.stop()
        origin.shutdown()
    }
}

extension RawHTTPResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
    var cacheStatus: String { header("cache-status") ?? "" }
}
