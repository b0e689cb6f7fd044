import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import TestSupport
import Testing

/// `affinity` end to end: a real front door on loopback (redirect mode, TestServer's regions; and
/// proxy mode with routes) and MaxMind's City test database. The London client's nearest region
/// is eu-west, Linköping's eu-north; new snapshots (a reload's bias, a new region, a drain) are
/// published while a client keeps its cookie.
@Suite struct AffinityServerTests {
    static let key = "0123456789abcdef-test-key"
    static let london = "81.2.69.142"
    static let linkoping = "89.160.20.112"

    static func config(
        bias: [String: Int] = [:], drain: Set<String> = [], extraRegion: Bool = false, policies: [[String: Any]] = [],
        key: String = AffinityServerTests.key
    ) throws -> GeoFrontConfig {
        var object = TestServer.configJSON(extra: [
            "affinity": ["key": key], "policies": policies,
        ])
        var regions = object["regions"] as! [[String: Any]]
        if extraRegion {
            regions.append([
                "name": "se-east", "location": ["latitude": 58.4167, "longitude": 15.6167],
                "redirect_url": "https://se-east.example.test",
            ])
        }
        for index in regions.indices {
            let name = regions[index]["name"] as! String
            if let bias = bias[name] { regions[index]["bias"] = bias }
            if drain.contains(name) { regions[index]["drain"] = true }
        }
        object["regions"] = regions
        return try ConfigLoader.parse(try JSONSerialization.data(withJSONObject: object), baseDirectory: "/")
    }

    static func token(_ region: String, key: String = AffinityServerTests.key) -> String {
        String(decoding: AffinityToken.token(key: Array(key.utf8), region: region), as: UTF8.self)
    }

    static func cookieLine(_ region: String) -> String {
        "gf_region=\(region).\(token(region)); Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
    }

    /// One request from the London client (through the trusted proxy) with `cookie`.
    static func get(_ port: Int, cookie: String? = nil, as ip: String = AffinityServerTests.london) async throws
        -> RawHTTPResponse
    {
        try await offThePool {
            let client = try RawHTTPClient(port: port, source: "127.0.0.2")
            let cookieLine = cookie.map { "Cookie: theme=dark; gf_region=\($0)\r\n" } ?? ""
            return try client.exchange(
                "GET /page?q=1 HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: \(ip)\r\n\(cookieLine)\r\n")
        }
    }

    static func region(_ response: RawHTTPResponse) -> String? { response.header("x-geofront-region") }

    /// Publishes `snapshot` and waits until requests see it (the loops take it asynchronously).
    static func publish(
        _ snapshot: RoutingSnapshot, on server: FrontDoorServer, port: Int,
        as ip: String = AffinityServerTests.linkoping,
        until check: @escaping (RawHTTPResponse) -> Bool
    )
        async throws
    {
        server.publisher.publish(snapshot)
        try await waitUntil("the new snapshot to answer") { check(try await get(port, as: ip)) }
    }

    func withAffinityServer(_ body: (FrontDoorServer, Int) async throws -> Void) async throws {
        var logger = Logger(label: "geofront-affinity-test")
        logger.logLevel = .critical
        let server = try await FrontDoorServer.start(
            snapshot: try RoutingSnapshot.open(config: Self.config()), logger: logger)
        do {
            try await body(server, server.localAddress!.port!)
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test func theCookieKeepsTheClientAcrossABiasANearerRegionAndMovesItWhenDrained() async throws {
        try await withAffinityServer { server, port in
            let linkoping = Self.linkoping
            // First request: the nearest region, and its cookie.
            let first = try await Self.get(port, as: linkoping)
            #expect(first.status == 302 && first.header("location") == "https://eu-north.example.test/page?q=1")
            #expect(first.headers("set-cookie") == [Self.cookieLine("eu-north")])
            let pinned = "eu-north.\(Self.token("eu-north"))"
            // With the cookie: the same region, not set again.
            let again = try await Self.get(port, cookie: pinned, as: linkoping)
            #expect(Self.region(again) == "eu-north" && again.headers("set-cookie").isEmpty)

            // A reload with a bias that pulls Linköping to eu-central: new clients go there, the
            // pinned one stays.
            let biased = try RoutingSnapshot.open(config: Self.config(bias: ["eu-central": 90]), generation: 2)
            try await Self.publish(biased, on: server, port: port) { Self.region($0) == "eu-central" }
            #expect(try await Self.get(port, as: linkoping).headers("set-cookie") == [Self.cookieLine("eu-central")])
            let kept = try await Self.get(port, cookie: pinned, as: linkoping)
            #expect(Self.region(kept) == "eu-north" && kept.headers("set-cookie").isEmpty)

            // A nearer region appears: the same.
            let nearer = try RoutingSnapshot.open(config: Self.config(extraRegion: true), generation: 3)
            try await Self.publish(nearer, on: server, port: port) { Self.region($0) == "se-east" }
            #expect(Self.region(try await Self.get(port, cookie: pinned, as: linkoping)) == "eu-north")

            // eu-north drained: the client moves and its cookie is rewritten.
            let current = server.publisher.current
            let statuses = current.regions.map { entry in
                RegionStatus(drained: entry.name == "eu-north")
            }
            server.publisher.publish(current.with(statuses: statuses))
            try await waitUntil("eu-north to be drained") {
                Self.region(try await Self.get(port, cookie: pinned, as: linkoping)) == "se-east"
            }
            let moved = try await Self.get(port, cookie: pinned, as: linkoping)
            #expect(moved.headers("set-cookie") == [Self.cookieLine("se-east")])
        }
    }

    @Test func forgedCookiesAreIgnoredAndRewritten() async throws {
        try await withAffinityServer { _, port in
            for forged in [
                "eu-central.\(Self.token("ap-south"))",  // another region's name, a third region's token
                "eu-central.Zm9yZ2VkLXRva2VuLXh5ejEy",  // a made-up token
                "eu-central.\(Self.token("eu-central", key: "another-key-0123456789"))",  // another key
                "mars.\(Self.token("eu-west"))", "eu-central",
            ] {
                let response = try await Self.get(port, cookie: forged)
                #expect(Self.region(response) == "eu-west", "\(forged)")
                #expect(response.headers("set-cookie") == [Self.cookieLine("eu-west")], "\(forged)")
            }
            // A genuine cookie for another region is honoured.
            let genuine = try await Self.get(port, cookie: "eu-central.\(Self.token("eu-central"))")
            #expect(Self.region(genuine) == "eu-central" && genuine.headers("set-cookie").isEmpty)
        }
    }

    @Test func aPolicyWinsOverTheCookie() async throws {
        try await withAffinityServer { server, port in
            let pinned = "eu-west.\(Self.token("eu-west"))"
            let gb: [String: Any] = ["name": "gb", "match": ["countries": ["GB"]], "regions": ["eu-central"]]
            let policy = try RoutingSnapshot.open(config: Self.config(policies: [gb]), generation: 2)
            try await Self.publish(policy, on: server, port: port, as: Self.london) { Self.region($0) == "eu-central" }
            let moved = try await Self.get(port, cookie: pinned)
            #expect(Self.region(moved) == "eu-central")
            #expect(moved.headers("set-cookie") == [Self.cookieLine("eu-central")])
            // Strict, with its region drained: 503, whatever the cookie says.
            var strict = gb
            strict["strict"] = true
            let refusing = try RoutingSnapshot.open(
                config: Self.config(drain: ["eu-central"], policies: [strict]), generation: 3)
            try await Self.publish(refusing, on: server, port: port, as: Self.london) { $0.status == 503 }
            let refused = try await Self.get(port, cookie: pinned)
            #expect(refused.status == 503 && refused.headers("set-cookie").isEmpty)
        }
    }

    @Test func proxiedResponsesCarryTheCookieBesideARouteStickyCookie() async throws {
        let rig = try await RoutesRig(
            services: ["shop": (["eu-west", "eu-central"], [:]), "api": (["eu-central", "us-east"], [:])],
            routes: [
                ["name": "api", "match": ["path": ["prefix": "/api"]], "service": "api"],
                [
                    "name": "shop", "match": ["path": ["prefix": "/"]], "service": "shop",
                    "sticky": ["cookie": "gf_backend"],
                ],
            ],
            extra: ["affinity": ["key": Self.key]])
        do {
            let first = try await offThePool { try rig.send("/cart") }
            #expect(first.upstreamName == "shop@eu-west")
            let cookies = first.headers("set-cookie")
            #expect(cookies.count == 2 && cookies.last == Self.cookieLine("eu-west"))
            #expect(cookies.first?.hasPrefix("gf_backend=") == true)
            // The client's eu-central cookie: shop runs there, so it answers; no cookie again.
            let pinned = "gf_region=eu-central.\(Self.token("eu-central"))"
            let kept = try await offThePool { try rig.send("/cart", headers: ["Cookie: \(pinned)"]) }
            #expect(kept.upstreamName == "shop@eu-central")
            #expect(!kept.headers("set-cookie").contains { $0.hasPrefix("gf_region=") })
            // An eu-west cookie on the api route (api does not run in eu-west): the nearest of
            // api's regions, and the cookie rewritten to it.
            let west = "gf_region=eu-west.\(Self.token("eu-west"))"
            let api = try await offThePool { try rig.send("/api/x", headers: ["Cookie: \(west)"]) }
            #expect(api.upstreamName == "api@eu-central")
            #expect(api.headers("set-cookie") == [Self.cookieLine("eu-central")])
        } catch {
            try? await rig.stop()
            throw error
        }
        try await rig.stop()
    }
}
