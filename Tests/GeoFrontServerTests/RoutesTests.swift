import Foundation
import GeoFrontCore
import Testing

@testable import GeoFrontServer

/// Routes over loopback: every precedence rule, rewrites and header edits, 404, redirect-mode
/// routes and per-service regional failover.
@Suite(.serialized) struct RoutesTests {
    /// One service per name, in eu-west only.
    static func services(_ names: [String]) -> [String: (regions: [String], extra: [String: Any])] {
        Dictionary(uniqueKeysWithValues: names.map { ($0, (["eu-west"], [:])) })
    }

    @Test func exactHostBeatsLongerWildcardBeatsShorterWildcardBeatsNoHost() async throws {
        let rig = try await RoutesRig(
            services: Self.services(["any", "wild", "wildlong", "exact"]),
            routes: [
                ["name": "any", "service": "any"],
                ["name": "wild", "match": ["hosts": ["*.example.com"]], "service": "wild"],
                ["name": "wildlong", "match": ["hosts": ["*.api.example.com"]], "service": "wildlong"],
                ["name": "exact", "match": ["hosts": ["api.example.com"]], "service": "exact"],
            ])
        defer { Task { try await rig.stop() } }
        let client = try rig.client()
        #expect(try rig.served("/", host: "api.example.com", on: client) == "exact@eu-west")
        #expect(try rig.served("/", host: "API.Example.COM:8080", on: client) == "exact@eu-west")
        #expect(try rig.served("/", host: "eu.api.example.com", on: client) == "wildlong@eu-west")
        #expect(try rig.served("/", host: "a.b.api.example.com", on: client) == "wildlong@eu-west")
        #expect(try rig.served("/", host: "www.example.com", on: client) == "wild@eu-west")
        #expect(try rig.served("/", host: "example.com", on: client) == "any@eu-west")
        #expect(try rig.served("/", host: "other.test", on: client) == "any@eu-west")
    }

    @Test func exactPathBeatsLongerPrefixBeatsShorterPrefixBeatsRegex() async throws {
        let rig = try await RoutesRig(
            services: Self.services(["regex", "v1regex", "root", "v1", "users", "exact"]),
            routes: [
                ["name": "regex", "match": ["path": ["regex": "/api/[0-9]+"]], "service": "regex"],
                ["name": "v1regex", "match": ["path": ["regex": "/v1/.*"]], "service": "v1regex"],
                ["name": "root", "match": ["path": ["prefix": "/"]], "service": "root"],
                ["name": "v1", "match": ["path": ["prefix": "/v1"]], "service": "v1"],
                ["name": "users", "match": ["path": ["prefix": "/v1/users"]], "service": "users"],
                ["name": "exact", "match": ["path": ["exact": "/v1/users"]], "service": "exact"],
            ])
        defer { Task { try await rig.stop() } }
        let client = try rig.client()
        #expect(try rig.served("/v1/users", on: client) == "exact@eu-west")
        #expect(try rig.served("/v1/users?x=1", on: client) == "exact@eu-west")
        #expect(try rig.served("/v1/users/7", on: client) == "users@eu-west")
        #expect(try rig.served("/v1/other", on: client) == "v1@eu-west")
        #expect(try rig.served("/v1", on: client) == "v1@eu-west")
        // Prefixes match whole segments.
        #expect(try rig.served("/v10", on: client) == "root@eu-west")
        #expect(try rig.served("/v1usersx", on: client) == "root@eu-west")
        // A regex only takes what no prefix takes ("/" takes everything here but the regex
        // route's own: none), and matches the whole path.
        #expect(try rig.served("/api/12", on: client) == "root@eu-west")
    }

    @Test func regexRoutesMatchTheWholePathWhenNoPrefixDoes() async throws {
        let rig = try await RoutesRig(
            services: Self.services(["regex", "docs"]),
            routes: [
                ["name": "regex", "match": ["path": ["regex": "/api/[0-9]+"]], "service": "regex"],
                ["name": "docs", "match": ["path": ["prefix": "/docs"]], "service": "docs"],
            ])
        defer { Task { try await rig.stop() } }
        let client = try rig.client()
        #expect(try rig.served("/api/12", on: client) == "regex@eu-west")
        #expect(try rig.send("/api/12/x", on: client).status == 404)
        #expect(try rig.send("/api/x", on: client).status == 404)
        #expect(try rig.served("/docs/a", on: client) == "docs@eu-west")
    }

    @Test func methodsThenHeadersThenQueryThenFileOrder() async throws {
        let rig = try await RoutesRig(
            services: Self.services(["plain", "post", "tenant", "beta", "beta2", "first", "second"]),
            routes: [
                ["name": "plain", "match": ["path": ["prefix": "/m"]], "service": "plain"],
                ["name": "post", "match": ["path": ["prefix": "/m"], "methods": ["POST"]], "service": "post"],
                [
                    "name": "tenant", "match": ["path": ["prefix": "/m"], "headers": ["X-Tenant": "acme"]],
                    "service": "tenant",
                ],
                ["name": "beta", "match": ["path": ["prefix": "/m"], "query": ["beta": "1"]], "service": "beta"],
                [
                    "name": "beta2", "match": ["path": ["prefix": "/m"], "query": ["beta": "1", "x": "2"]],
                    "service": "beta2",
                ],
                ["name": "first", "match": ["path": ["prefix": "/f"]], "service": "first"],
                ["name": "second", "match": ["path": ["prefix": "/f"]], "service": "second"],
            ])
        defer { Task { try await rig.stop() } }
        let client = try rig.client()
        #expect(try rig.served("/m", on: client) == "plain@eu-west")
        #expect(
            try rig.served("/m", method: "POST", headers: ["Content-Length: 0", "x-tenant: acme"], on: client)
                == "post@eu-west")
        #expect(try rig.served("/m?beta=1&x=2", headers: ["x-tenant: acme"], on: client) == "tenant@eu-west")
        #expect(try rig.served("/m", headers: ["x-tenant: other"], on: client) == "plain@eu-west")
        #expect(try rig.served("/m?x=2&beta=1", on: client) == "beta2@eu-west")
        #expect(try rig.served("/m?beta=1", on: client) == "beta@eu-west")
        #expect(try rig.served("/m?beta=2", on: client) == "plain@eu-west")
        #expect(try rig.served("/f/x", on: client) == "first@eu-west")
    }

    @Test func rewriteAndHeaderEditsEachWay() async throws {
        let rig = try await RoutesRig(
            services: Self.services(["api"]),
            routes: [
                [
                    "name": "api", "match": ["path": ["prefix": "/v1/"]], "service": "api",
                    "rewrite": ["path_prefix": "/"],
                    "request_headers": [
                        "set": ["x-route": "api"], "add": ["x-extra": "1"], "remove": ["x-debug"],
                    ],
                    "response_headers": ["set": ["x-served-by": "geofront"], "remove": ["x-powered-by"]],
                ]
            ])
        defer { Task { try await rig.stop() } }
        let response = try rig.send(
            "/v1/users?q=1", headers: ["X-Route: client", "X-Debug: 1", "X-Extra: 0", "X-Kept: yes"])
        #expect(response.status == 200)
        #expect(response.echo?["uri"] as? String == "/users?q=1")
        #expect(response.seen("x-route") == ["api"])
        #expect(response.seen("x-debug") == [])
        #expect(response.seen("x-extra") == ["0", "1"])
        #expect(response.seen("x-kept") == ["yes"])
        #expect(response.header("x-served-by") == "geofront")
        #expect(try rig.send("/v1/").echo?["uri"] as? String == "/")
    }

    @Test func noMatchIs404AndTheConnectionGoesOn() async throws {
        let rig = try await RoutesRig(
            services: Self.services(["api"]),
            routes: [["name": "api", "match": ["hosts": ["api.example.com"]], "service": "api"]])
        defer { Task { try await rig.stop() } }
        let client = try rig.client()
        let missed = try rig.send("/x", host: "www.example.com", on: client)
        #expect(missed.status == 404)
        #expect(missed.body.count < 64)
        #expect(missed.header("connection") == nil)
        #expect(try rig.served("/x", host: "api.example.com", on: client) == "api@eu-west")
    }

    @Test func defaultRouteTakesWhatNoRouteMatches() async throws {
        let rig = try await RoutesRig(
            services: Self.services(["api", "site"]),
            routes: [
                ["name": "api", "match": ["hosts": ["api.example.com"]], "service": "api"],
                ["name": "site", "match": ["hosts": ["www.example.com"]], "service": "site"],
            ],
            extra: ["default_route": "site"])
        defer { Task { try await rig.stop() } }
        #expect(try rig.served("/", host: "elsewhere.test") == "site@eu-west")
        #expect(try rig.served("/", host: "api.example.com") == "api@eu-west")
    }

    @Test func redirectModeRoutesUseTheServiceURLAndTheRewrittenPath() async throws {
        let rig = try await RoutesRig(
            services: [
                "api": (
                    [],
                    [
                        "mode": "redirect",
                        "redirect_urls": [
                            "eu-west": "https://api-eu.example.com", "us-east": "https://api-us.example.com/base",
                        ],
                    ]
                )
            ],
            routes: [
                [
                    "name": "api", "match": ["path": ["prefix": "/v2/"]], "service": "api",
                    "rewrite": ["path_prefix": "/"],
                ]
            ])
        defer { Task { try await rig.stop() } }
        let london = try rig.send("/v2/items?x=1")
        #expect(london.status == 302)
        #expect(london.header("location") == "https://api-eu.example.com/items?x=1")
        let seattle = try rig.send("/v2/items", as: ProxyRig.seattle)
        #expect(seattle.header("location") == "https://api-us.example.com/base/items")
        #expect(try rig.send("/other").status == 404)
    }

    /// The service's nearest region dies: the next nearest region *where the service runs*
    /// answers (us-east, not eu-central, which is nearer to London but has no `api`).
    @Test func perServiceRegionalFailover() async throws {
        let rig = try await RoutesRig(
            services: [
                "api": (["eu-west", "us-east"], [:]),
                "web": (["eu-central"], [:]),
            ],
            routes: [
                ["name": "api", "match": ["path": ["prefix": "/api"]], "service": "api"],
                ["name": "web", "service": "web"],
            ],
            extra: ["proxy": ["max_attempts": 3]])
        defer { Task { try await rig.stop() } }
        #expect(try rig.served("/api/x") == "api@eu-west")
        #expect(try rig.served("/") == "web@eu-central")
        try rig.upstreams["api@eu-west"]!.stop()
        for _ in 0..<5 {
            let response = try rig.send("/api/x")
            #expect(response.upstreamName == "api@us-east")
            #expect(response.header("x-geofront-region") == "us-east")
        }
        #expect(try rig.served("/") == "web@eu-central")
    }
}
