import Foundation
import TestSupport
import Testing

/// `geofront route` with routes: the request options, the route and the routes tried, the
/// backend, the service's region and the target.
@Suite struct RouteRequestCLITests {
    /// Three regions; `api` (proxy) in eu-west and us-east, `api-v2` in eu-central, `docs`
    /// (redirect) in eu-west only. Routes for api.example.test (`beta` needs `x-beta: 1`, `api`
    /// splits 90/10 with a sticky cookie and rewrites `/v1/` to `/`), `admin` for another host,
    /// and `docs` for any host; no default_route.
    static func config(in folder: TemporaryDirectory) throws -> String {
        try folder.write(
            "regions.json",
            """
            {"listen": "127.0.0.1:8080", "geoip": {"database": "\(CLITests.cityDB)"},
             "mode": "proxy", "default_region": "eu-central",
             "regions": [
               {"name": "eu-west", "location": {"latitude": 51.51, "longitude": -0.13}, "redirect_url": "https://eu-west.example.test"},
               {"name": "eu-central", "location": {"latitude": 50.11, "longitude": 8.68}, "redirect_url": "https://eu-central.example.test"},
               {"name": "us-east", "location": {"latitude": 39.04, "longitude": -77.49}, "redirect_url": "https://us-east.example.test"}
             ],
             "services": {
               "api": {"upstreams": {"eu-west": ["10.0.1.1:8080", "10.0.1.2:8080"], "us-east": ["10.0.3.1:8080"]}},
               "api-v2": {"upstreams": {"eu-central": ["10.0.2.1:8080"]}},
               "docs": {"mode": "redirect", "redirect_urls": {"eu-west": "https://docs-eu.example.test/base"}}
             },
             "routes": [
               {"name": "admin", "match": {"hosts": ["admin.example.test"]}, "service": "api"},
               {"name": "beta", "match": {"hosts": ["api.example.test"], "path": {"prefix": "/v1/"},
                                          "headers": {"x-beta": "1"}}, "service": "api-v2"},
               {"name": "api", "match": {"hosts": ["api.example.test"], "path": {"prefix": "/v1/"}},
                "backends": [{"service": "api", "weight": 90}, {"service": "api-v2", "weight": 10}],
                "sticky": {"cookie": "gf"}, "rewrite": {"path_prefix": "/"}},
               {"name": "docs", "match": {"path": {"prefix": "/docs/"}}, "service": "docs", "rewrite": {"path_prefix": "/"}}
             ]}
            """)
    }

    static let london = "81.2.69.142"

    @Test func textShowsTheRouteTheRoutesTriedTheBackendAndTheTarget() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = try Self.config(in: folder)
        let run = try CLITests.run([
            "route", "--config", config, "--ip", Self.london, "--host", "api.example.test", "--path", "/v1/users?q=1",
            "--cookie", "gf=abc", "--header", "x-beta: 2",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout.hasPrefix(
                """
                81.2.69.142
                  request    GET /v1/users?q=1, host api.example.test, x-beta: 2, Cookie: gf=abc
                  route      api (matched)
                  tried      hosts: admin [admin.example.test]
                  tried      beta [api.example.test]: headers.x-beta
                  backend    api (weight 90 of 100: api 90, api-v2 10)
                  by         sticky cookie gf, point 0.1636
                  location   51.5142, -0.0931 (GB, EU)
                """), "\(run.stdout)")
        #expect(run.stdout.contains("  region     eu-west, 2.6 km\n"))
        #expect(
            run.stdout.contains("  answer     proxy (client: peer, lookup: located, region: nearest, route: matched)"))
        // Only the service's regions are candidates.
        #expect(run.stdout.contains("  distances  eu-west 3 km, us-east 5920 km\n"))
        #expect(run.stdout.contains("  target     /users?q=1 to 10.0.1.1:8080, 10.0.1.2:8080\n"))

        // The header the higher route wants takes the request there, to its service's region.
        let beta = try CLITests.run([
            "route", "--config", config, Self.london, "--host", "API.example.test", "--path", "/v1/x",
            "--header", "X-Beta:1",
        ])
        #expect(beta.stdout.contains("  route      beta (matched)\n"))
        #expect(!beta.stdout.contains("tried      beta"))
        #expect(beta.stdout.contains("  backend    api-v2 (the route's only backend)\n"))
        #expect(beta.stdout.contains("  region     eu-central, "))
        #expect(beta.stdout.contains("  target     /v1/x to 10.0.2.1:8080\n"))
    }

    @Test func withoutTheStickyCookieTheBackendIsPickedByWeight() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = try Self.config(in: folder)
        let run = try CLITests.run([
            "route", "--config", config, Self.london, "--host", "api.example.test", "--path", "/v1/users",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout.contains(
                "  by         weight (no sticky key; a new cookie would be set: gf=8000000000000000, point 0.3360)\n"))
    }

    @Test func noRouteIs404AndTheRedirectTargetIsRewritten() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = try Self.config(in: folder)
        let missed = try CLITests.run(["route", "--config", config, "--path", "/nothing", Self.london])
        #expect(missed.status == 0, "\(missed.stderr)")
        #expect(missed.stdout.contains("  route      none: no route matches and there is no default_route\n"))
        #expect(
            missed.stdout.contains(
                "  tried      hosts: admin [admin.example.test], beta [api.example.test], api [api.example.test]\n"))
        #expect(missed.stdout.contains("  tried      docs: path\n"))
        #expect(missed.stdout.contains("  answer     404 (client: peer, route: no_match)\n"))
        #expect(!missed.stdout.contains("  region "))

        let docs = try CLITests.run(["route", "--config", config, "--path", "/docs/intro?x=1", Self.london])
        #expect(docs.stdout.contains("  route      docs (matched)\n"))
        #expect(docs.stdout.contains("  answer     redirect ("))
        #expect(docs.stdout.contains("  target     302 Location: https://docs-eu.example.test/base/intro?x=1\n"))
    }

    @Test func jsonAddsTheRouteFieldsAndKeepsTheOthers() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = try Self.config(in: folder)
        let run = try CLITests.run(
            [
                "route", "--config", config, "--format", "json", "--host", "api.example.test", "--path", "/v1/users",
                "--cookie", "gf=abc", "--ip", Self.london, "10.0.0.1",
            ])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let london = objects[0]
        #expect(london["ip"] as? String == Self.london)
        #expect(london["region"] as? String == "eu-west")
        #expect(london["reason"] as? String == "nearest")
        #expect((london["candidates"] as? [[String: Any]])?.map { $0["region"] as? String } == ["eu-west", "us-east"])
        #expect(london["route"] as? String == "api")
        #expect(london["route_reason"] as? String == "matched")
        #expect(london["service"] as? String == "api")
        let tried = london["tried"] as? [[String: Any]] ?? []
        #expect(tried.map { $0["route"] as? String } == ["admin", "beta"])
        #expect(tried.map { $0["host"] as? String } == ["admin.example.test", "api.example.test"])
        #expect(tried.map { $0["failed_field"] as? String } == ["hosts", "headers.x-beta"])
        let backend = london["backend"] as? [String: Any] ?? [:]
        #expect(backend["service"] as? String == "api")
        #expect(backend["weight"] as? Int == 90)
        #expect(backend["by"] as? String == "sticky")
        #expect(abs((backend["point"] as? Double ?? -1) - 0.1636) < 0.0001)
        let target = london["target"] as? [String: Any] ?? [:]
        #expect(target["upstreams"] as? [String] == ["10.0.1.1:8080", "10.0.1.2:8080"])
        #expect(target["path"] as? String == "/users")
        // Without a location the service's entry nearest to the default region answers.
        #expect(objects[1]["ip"] as? String == "10.0.0.1")
        #expect(objects[1]["region"] as? String == "eu-west")

        // `--json` is still `--format json`; a 404 has no region and says so.
        let missed = try CLITests.run(["route", "--config", config, "--json", "--path", "/nothing", Self.london])
        let object = try JSONSerialization.jsonObject(with: Data(missed.stdout.utf8)) as! [String: Any]
        #expect(object["region"] is NSNull)
        #expect(object["status"] as? Int == 404)
        #expect(object["route"] is NSNull)
        #expect(object["route_reason"] as? String == "no_match")
        #expect(object["backend"] is NSNull)
        #expect((object["tried"] as? [Any])?.count == 4)
    }

    @Test func badRequestOptionsAreUsageErrors() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = try Self.config(in: folder)
        let header = try CLITests.run(["route", "--config", config, "--header", "x-beta", Self.london])
        #expect(header.status == 64)
        #expect(header.stderr.contains(#"a header is NAME:VALUE, not "x-beta""#))
        let path = try CLITests.run(["route", "--config", config, "--path", "v1", Self.london])
        #expect(path.status == 64)
        #expect(path.stderr.contains("the path must start with"))
        let format = try CLITests.run(["route", "--config", config, "--json", "--format", "text", Self.london])
        #expect(format.status == 64)
    }

    @Test func withoutRoutesTheRequestOptionsChangeNothing() throws {
        let run = try CLITests.run(["route", "--host", "api.example.test", "--ip", "89.160.20.112"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("the configuration has no routes"))
        #expect(run.stdout.hasPrefix("89.160.20.112\n  location   62.0000, 15.0000 (SE, EU)"))
        #expect(!run.stdout.contains("  route "))
        #expect(!run.stdout.contains("  target "))
    }
}
