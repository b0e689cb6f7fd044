import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import TestSupport

/// GeoFront with `services` and `routes` in front of real upstream servers on loopback: one
/// echo upstream per service and region, named `service@region`. Regions (bare locations, as
/// with routes they serve nothing themselves): eu-west (London), eu-central (Frankfurt),
/// us-east (Ashburn); 127.0.0.2 is a trusted proxy; clients without a location go to eu-central.
final class RoutesRig: Sendable {
    let upstreams: [String: TestUpstream]
    let server: FrontDoorServer
    let port: Int

    /// - Parameters:
    ///   - services: per service, the regions it runs in (an upstream is started in each) and
    ///     extra keys of its entry (`mode`, `redirect_urls`, `health_check`…).
    ///   - routes: the `routes` array.
    ///   - extra: more top-level keys (`default_route`, `proxy`…).
    init(
        services: [String: (regions: [String], extra: [String: Any])], routes: [[String: Any]],
        extra: [String: Any] = [:]
    ) async throws {
        var upstreams: [String: TestUpstream] = [:]
        var servicesJSON: [String: Any] = [:]
        for (service, layout) in services {
            var byRegion: [String: [String]] = [:]
            for region in layout.regions {
                let upstream = try TestUpstream(name: "\(service)@\(region)")
                upstreams[upstream.name] = upstream
                byRegion[region] = [upstream.address]
            }
            var entry = layout.extra
            if !byRegion.isEmpty && entry["mode"] as? String != "redirect" { entry["upstreams"] = byRegion }
            servicesJSON[service] = entry
        }
        self.upstreams = upstreams
        let regions: [[String: Any]] = ["eu-west", "eu-central", "us-east"].map { name in
            let (latitude, longitude) = ProxyRig.locations[name]!
            return [
                "name": name, "location": ["latitude": latitude, "longitude": longitude],
                "redirect_url": "https://\(name).example.test",
            ]
        }
        var object: [String: Any] = [
            "listen": "127.0.0.1:0", "geoip": ["database": Fixtures.maxmind("GeoLite2-City-Test.mmdb")],
            "mode": "proxy", "trusted_proxies": ["127.0.0.2/32"], "default_region": "eu-central",
            "server": ["threads": 1], "regions": regions, "services": servicesJSON, "routes": routes,
        ]
        for (key, value) in extra { object[key] = value }
        let config = try ConfigLoader.parse(try JSONSerialization.data(withJSONObject: object), baseDirectory: "/")
        var logger = Logger(label: "geofront-routes-test")
        logger.logLevel = .critical
        server = try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
        port = server.localAddress!.port!
    }

    func client() throws -> RawHTTPClient {
        try RawHTTPClient(port: port, source: "127.0.0.2")
    }

    /// One request as the client at `ip`; `headers` are more field lines.
    func send(
        _ target: String, method: String = "GET", host: String = "shop.example", headers: [String] = [],
        as ip: String = ProxyRig.london, on client: RawHTTPClient? = nil
    ) throws -> RawHTTPResponse {
        let connection = try client ?? self.client()
        let extra = headers.map { $0 + "\r\n" }.joined()
        return try connection.exchange(
            "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\nX-Forwarded-For: \(ip)\r\n\(extra)\r\n")
    }

    /// The upstream that answered (`service@region`).
    func served(
        _ target: String, method: String = "GET", host: String = "shop.example", headers: [String] = [],
        as ip: String = ProxyRig.london, on client: RawHTTPClient? = nil
    ) throws -> String? {
        try send(target, method: method, host: host, headers: headers, as: ip, on: client).upstreamName
    }

    func stop() async throws {
        try await server.stop()
        for upstream in upstreams.values { upstream.shutdown() }
    }
}
