import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import TestSupport

/// GeoFront in proxy mode in front of real upstream servers on loopback.
/// Regions: eu-west (London), eu-central (Frankfurt), us-east (Ashburn); only 127.0.0.2 is a
/// trusted proxy.
final class ProxyRig {
    static let london = "81.2.69.142"
    static let seattle = "216.160.83.56"
    static let locations: [String: (Double, Double)] = [
        "eu-west": (51.51, -0.13), "eu-central": (50.11, 8.68), "us-east": (39.04, -77.49),
    ]

    let upstreams: [String: [TestUpstream]]
    let server: FrontDoorServer
    let port: Int

    /// - Parameters:
    ///   - upstreams: per region, the upstreams' names and behaviours.
    ///   - proxy: the `proxy` section.
    ///   - regionExtras: extra keys per region (mode, lb, weights…).
    ///   - server: extra keys of the `server` section.
    ///   - extra: other top-level keys (`rate_limit`…).
    init(
        upstreams layout: [String: [(String, TestUpstream.Behaviour)]],
        proxy: [String: Any] = [:], regionExtras: [String: [String: Any]] = [:], weights: [String: [Int]] = [:],
        server serverExtras: [String: Any] = [:], extra: [String: Any] = [:]
    ) async throws {
        var upstreams: [String: [TestUpstream]] = [:]
        for (region, list) in layout {
            upstreams[region] = try list.map { try TestUpstream(name: $0.0, $0.1) }
        }
        self.upstreams = upstreams
        let regions: [[String: Any]] = ["eu-west", "eu-central", "us-east"].map { name in
            let (latitude, longitude) = Self.locations[name]!
            var region: [String: Any] = [
                "name": name, "location": ["latitude": latitude, "longitude": longitude],
                "redirect_url": "https://\(name).example.test",
            ]
            let list = upstreams[name] ?? []
            if let weights = weights[name] {
                region["upstreams"] = zip(list, weights).map { ["address": $0.address, "weight": $1] }
            } else {
                region["upstreams"] = list.map(\.address)
            }
            if list.isEmpty { region["mode"] = "redirect" }
            for (key, value) in regionExtras[name] ?? [:] { region[key] = value }
            return region
        }
        var serverSection: [String: Any] = ["threads": 1]
        for (key, value) in serverExtras { serverSection[key] = value }
        var object: [String: Any] = [
            "listen": "127.0.0.1:0", "geoip": ["database": Fixtures.maxmind("GeoLite2-City-Test.mmdb")],
            "mode": "proxy", "trusted_proxies": ["127.0.0.2/32"], "default_region": "eu-central",
            "server": serverSection, "proxy": proxy, "regions": regions,
        ]
        for (key, value) in extra { object[key] = value }
        let config = try ConfigLoader.parse(try JSONSerialization.data(withJSONObject: object), baseDirectory: "/")
        var logger = Logger(label: "geofront-proxy-test")
        logger.logLevel = .critical
        server = try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
        port = server.localAddress!.port!
    }

    func client(source: String = "127.0.0.2") throws -> RawHTTPClient {
        try RawHTTPClient(port: port, source: source)
    }

    /// GET as the client at `ip` (X-Forwarded-For from the trusted proxy).
    func get(_ path: String = "/x", as ip: String = ProxyRig.london, on client: RawHTTPClient? = nil) throws
        -> RawHTTPResponse
    {
        let connection = try client ?? self.client()
        return try connection.exchange("GET \(path) HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: \(ip)\r\n\r\n")
    }

    func stop() async throws {
        try await server.stop()
        for list in upstreams.values { for upstream in list { upstream.shutdown() } }
    }
}

extension RawHTTPResponse {
    /// The echo upstream's JSON body.
    var echo: [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
    }

    var upstreamName: String? { echo?["name"] as? String }

    /// Headers the upstream saw, lower-cased names.
    var seenHeaders: [(String, String)] {
        ((echo?["headers"] as? [[String]]) ?? []).map { ($0[0].lowercased(), $0[1]) }
    }

    func seen(_ name: String) -> [String] {
        seenHeaders.filter { $0.0 == name.lowercased() }.map(\.1)
    }
}
