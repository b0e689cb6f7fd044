import Foundation
import Testing

@testable import GeoFrontCore

/// Routes that can never match (``RouteTable/neverMatching()``, for `geofront check-config`).
/// Each reported case sends a few requests the shadowed route would match and checks that another
/// route takes them; each case that must not be reported shows a request the route does take.
@Suite struct RouteShadowTests {
    /// A route to the `web` service with the given `match` fields.
    static func route(_ name: String, _ match: String = "") -> String {
        #"{"name": "\#(name)", "service": "web", "match": {\#(match)}}"#
    }

    static func config(_ routes: [String]) throws -> RoutesConfig {
        let json = #"{\#(RoutesConfigTests.services), "routes": [\#(routes.joined(separator: ", "))]}"#
        return try RoutesConfig.parse(Data(json.utf8), regionNames: RoutesConfigTests.regions)
    }

    /// The names of the routes reported.
    static func shadowed(_ routes: [String]) throws -> [String] {
        try config(routes).neverMatching().map(\.name)
    }

    /// The one report for `routes`.
    static func report(_ routes: [String]) throws -> ShadowedRoute? {
        let found = try config(routes).neverMatching()
        #expect(found.count == 1, "\(found.map(\.message))")
        return found.first
    }

    /// The name of the route that takes a request.
    static func taker(
        _ routes: [String], _ target: String, host: String? = "api.example.com", method: String = "GET",
        headers: [(name: String, value: String)] = []
    ) throws -> String? {
        let table = try config(routes).table()
        let request = try OwnedRouteRequest(method: method, target: target, host: host, headers: headers)
        return table.match(request).map { table.routes[$0].name }
    }

    static let api = #""hosts": ["api.example.com"]"#

    // MARK: - Reported

    @Test func anIdenticalMatchLaterInTheFile() throws {
        let routes = [
            Self.route("d", #"\#(Self.api), "path": {"prefix": "/v1/x"}"#),
            Self.route("c", #"\#(Self.api), "path": {"prefix": "/v1/x"}"#),
        ]
        let report = try #require(try Self.report(routes))
        #expect(report.name == "c")
        #expect(report.route == 1)
        #expect(report.covers == [.init(host: .exact("api.example.com"), routes: [0], names: ["d"])])
        #expect(
            report.message
                == #"route "c" can never match: route "d" (same hosts, path prefix /v1/x, file order first) takes every request it would"#
        )
        for path in ["/v1/x", "/v1/x/", "/v1/x/y"] { #expect(try Self.taker(routes, path) == "d") }
    }

    /// `/v1/` is read as `/v1`: the same prefix, written differently.
    @Test func theSamePrefixWrittenWithATrailingSlash() throws {
        let routes = [
            Self.route("first", #""hosts": ["a.example.com"], "path": {"prefix": "/v1/"}"#),
            Self.route("second", #""hosts": ["a.example.com"], "path": {"prefix": "/v1"}"#),
        ]
        #expect(try Self.shadowed(routes) == ["second"])
        #expect(try Self.taker(routes, "/v1", host: "a.example.com") == "first")
    }

    /// An earlier route for more hosts covers a route for one of them.
    @Test func aPrefixUnderTheSameExactHostAmongOthers() throws {
        let routes = [
            Self.route("both", #""hosts": ["a.example.com", "b.example.com"], "path": {"prefix": "/v1"}"#),
            Self.route("a", #""hosts": ["a.example.com"], "path": {"prefix": "/v1"}"#),
        ]
        let report = try #require(try Self.report(routes))
        #expect(report.name == "a")
        #expect(
            report.message
                == #"route "a" can never match: route "both" (hosts include a.example.com, path prefix /v1, file order first) takes every request it would"#
        )
        #expect(try Self.taker(routes, "/v1/z", host: "a.example.com") == "both")
    }

    @Test func theSameExactPath() throws {
        let routes = [
            Self.route("health", #"\#(Self.api), "path": {"exact": "/health"}"#),
            Self.route("again", #"\#(Self.api), "path": {"exact": "/health"}"#),
        ]
        #expect(try Self.shadowed(routes) == ["again"])
    }

    /// Both with methods (a tie), the earlier one with every method of the later one.
    @Test func methodsAmongAnEarlierRoutesMethods() throws {
        let routes = [
            Self.route("read-write", #"\#(Self.api), "path": {"prefix": "/v1"}, "methods": ["GET", "POST"]"#),
            Self.route("read", #"\#(Self.api), "path": {"prefix": "/v1"}, "methods": ["GET"]"#),
        ]
        let report = try #require(try Self.report(routes))
        #expect(
            report.message
                == #"route "read" can never match: route "read-write" (same hosts, path prefix /v1, methods GET, POST, file order first) takes every request it would"#
        )
        #expect(try Self.taker(routes, "/v1/a") == "read-write")
    }

    /// No one route covers GET and POST, but one earlier route takes each.
    @Test func methodsSplitOverSeveralEarlierRoutes() throws {
        let routes = [
            Self.route("get", #"\#(Self.api), "methods": ["GET"]"#),
            Self.route("post", #"\#(Self.api), "methods": ["POST"]"#),
            Self.route("both", #"\#(Self.api), "methods": ["POST", "GET"]"#),
        ]
        let report = try #require(try Self.report(routes))
        #expect(report.name == "both")
        #expect(report.covers.map(\.names) == [["get", "post"]])
        #expect(
            report.message
                == #"route "both" can never match: routes "get" (same hosts, any path, method GET, file order first) and "post" (same hosts, any path, method POST, file order first) take every request it would"#
        )
        #expect(try Self.taker(routes, "/", method: "POST") == "post")
    }

    /// A prefix of `/` (or no path) comes before every regex path, wherever it is in the file.
    @Test func aRegexPathUnderACatchAll() throws {
        let routes = [
            Self.route("regex", #"\#(Self.api), "path": {"regex": "/v[0-9]+/.*"}, "methods": ["GET"]"#),
            Self.route("all", Self.api),
        ]
        let report = try #require(try Self.report(routes))
        #expect(
            report.message
                == #"route "regex" can never match: route "all" (same hosts, any path, regex paths come last) takes every request it would"#
        )
        #expect(try Self.taker(routes, "/v2/x") == "all")
        let rooted = [
            Self.route("regex", #""path": {"regex": "/.*"}, "headers": {"x-a": "1"}"#),
            Self.route("root", #""path": {"prefix": "/"}"#),
        ]
        #expect(try Self.shadowed(rooted) == ["regex"])
    }

    @Test func theSameRegexLaterInTheFile() throws {
        let routes = [
            Self.route("first", #"\#(Self.api), "path": {"regex": "/v[0-9]+/.*"}"#),
            Self.route("second", #"\#(Self.api), "path": {"regex": "/v[0-9]+/.*"}"#),
        ]
        #expect(try Self.shadowed(routes) == ["second"])
    }

    @Test func theSameHeadersAndQuery() throws {
        let fields = #"\#(Self.api), "headers": {"x-b": "2", "X-A": "1"}, "query": {"beta": "1"}"#
        let routes = [Self.route("first", fields), Self.route("second", fields)]
        let report = try #require(try Self.report(routes))
        #expect(report.name == "second")
        #expect(report.message.contains("headers x-a: 1, x-b: 2, query beta=1, file order first"))
        #expect(try Self.taker(routes, "/?beta=1", headers: [("x-a", "1"), ("x-b", "2")]) == "first")
    }

    /// A route for two hosts, each covered by another route.
    @Test func aMultiHostRouteCoveredInEachHost() throws {
        let routes = [
            Self.route("a", #""hosts": ["a.example.com"], "path": {"prefix": "/v1"}, "methods": ["GET", "HEAD"]"#),
            Self.route("b", #""hosts": ["b.example.com"], "path": {"prefix": "/v1"}, "methods": ["GET"]"#),
            Self.route(
                "ab", #""hosts": ["a.example.com", "b.example.com"], "path": {"prefix": "/v1"}, "methods": ["GET"]"#),
        ]
        let report = try #require(try Self.report(routes))
        #expect(report.name == "ab")
        #expect(report.covers.map(\.host) == [.exact("a.example.com"), .exact("b.example.com")])
        #expect(
            report.message
                == #"route "ab" can never match: for a.example.com, route "a" (path prefix /v1, methods GET, HEAD, file order first) takes every request it would; for b.example.com, route "b" (path prefix /v1, method GET, file order first) takes every request it would"#
        )
        #expect(try Self.taker(routes, "/v1", host: "a.example.com") == "a")
        #expect(try Self.taker(routes, "/v1", host: "b.example.com") == "b")
        let together = [
            Self.route("both", #""hosts": ["b.example.com", "a.example.com"], "path": {"prefix": "/v1/"}"#),
            Self.route("ab", #""hosts": ["a.example.com", "b.example.com"], "path": {"prefix": "/v1"}"#),
        ]
        #expect(try Self.report(together)?.message.contains(#"route "both" (same hosts, path prefix /v1,"#) == true)
    }

    @Test func routesWithoutHosts() throws {
        let routes = [Self.route("site"), Self.route("again", #""path": {"prefix": "/"}"#)]
        #expect(
            try Self.report(routes)?.message
                == #"route "again" can never match: route "site" (also without hosts, any path, file order first) takes every request it would"#
        )
    }

    @Test func theSameWildcard() throws {
        let routes = [
            Self.route("wild", #""hosts": ["*.example.com"]"#),
            Self.route("again", #""hosts": ["*.example.com"], "path": {"prefix": "/v1"}, "methods": ["GET"]"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        let tie = [
            Self.route("wild", #""hosts": ["*.example.com"], "methods": ["GET", "HEAD"]"#),
            Self.route("again", #""hosts": ["*.example.com"], "path": {"regex": "/.*"}, "methods": ["GET"]"#),
        ]
        #expect(try Self.shadowed(tie) == ["again"])
        #expect(try Self.taker(tie, "/x", host: "a.example.com") == "wild")
    }

    @Test func everyShadowedRouteInFileOrder() throws {
        let routes = [
            Self.route("site"), Self.route("copy"), Self.route("api", Self.api), Self.route("api-copy", Self.api),
        ]
        #expect(try Self.shadowed(routes) == ["copy", "api-copy"])
    }

    // MARK: - Not reported: each route here takes some request

    @Test func coveredForOnlyOneOfItsHosts() throws {
        let routes = [
            Self.route("a", #""hosts": ["a.example.com"]"#),
            Self.route("ab", #""hosts": ["a.example.com", "b.example.com"]"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/", host: "b.example.com") == "ab")
    }

    @Test func aLongerPrefix() throws {
        let routes = [
            Self.route("v1", #"\#(Self.api), "path": {"prefix": "/v1"}"#),
            Self.route("v1x", #"\#(Self.api), "path": {"prefix": "/v1/x"}"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/v1/x/y") == "v1x")
    }

    /// Exact paths come before prefixes, so a prefix never hides an exact path.
    @Test func anExactPathUnderAPrefix() throws {
        let routes = [
            Self.route("v1", #"\#(Self.api), "path": {"prefix": "/v1"}"#),
            Self.route("users", #"\#(Self.api), "path": {"exact": "/v1/users"}"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/v1/users") == "users")
    }

    @Test func anotherHeaderValue() throws {
        let routes = [
            Self.route("one", #"\#(Self.api), "headers": {"x-tenant": "one"}"#),
            Self.route("two", #"\#(Self.api), "headers": {"x-tenant": "two"}"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/", headers: [("x-tenant", "two")]) == "two")
    }

    /// A route with more headers comes first, so fewer headers never hide it.
    @Test func moreHeadersThanAnEarlierRoute() throws {
        let routes = [
            Self.route("any", Self.api), Self.route("tenant", #"\#(Self.api), "headers": {"x-tenant": "a"}"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/", headers: [("x-tenant", "a")]) == "tenant")
    }

    /// Routes with methods come before routes without.
    @Test func methodsUnderAnEarlierRouteWithout() throws {
        let routes = [
            Self.route("any", #"\#(Self.api), "path": {"prefix": "/v1"}"#),
            Self.route("get", #"\#(Self.api), "path": {"prefix": "/v1"}, "methods": ["GET"]"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/v1") == "get")
    }

    @Test func noMethodsUnderAnEarlierRouteWithMethods() throws {
        let routes = [
            Self.route("get", #"\#(Self.api), "path": {"regex": "/.*"}, "methods": ["GET"]"#),
            Self.route("any", #"\#(Self.api), "path": {"regex": "/.*"}"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/x", method: "DELETE") == "any")
    }

    @Test func aMethodNoEarlierRouteHas() throws {
        let routes = [
            Self.route("get", #"\#(Self.api), "methods": ["GET"]"#),
            Self.route("get-post", #"\#(Self.api), "methods": ["GET", "POST"]"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/", method: "POST") == "get-post")
    }

    /// A request for a listed host tries that host's routes before the routes without hosts.
    @Test func aRouteWithoutHostsBeforeAnExactHost() throws {
        let routes = [Self.route("site"), Self.route("api", #"\#(Self.api), "path": {"prefix": "/v1"}"#)]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/v1") == "api")
    }

    @Test func aWildcardBeforeAnExactHostOrALongerWildcard() throws {
        let routes = [
            Self.route("wild", #""hosts": ["*.example.com"]"#),
            Self.route("exact", #""hosts": ["a.example.com"]"#),
            Self.route("longer", #""hosts": ["*.a.example.com"]"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/", host: "a.example.com") == "exact")
        #expect(try Self.taker(routes, "/", host: "x.a.example.com") == "longer")
    }

    /// An exact host covers one of the names a wildcard stands for.
    @Test func anExactHostBeforeAWildcard() throws {
        let routes = [
            Self.route("a", #""hosts": ["a.example.com"]"#), Self.route("wild", #""hosts": ["*.example.com"]"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/", host: "b.example.com") == "wild")
    }

    /// Nothing reads what a regex matches: only prefix `/` or the same regex covers one.
    @Test func aRegexPathUnderAShorterPrefix() throws {
        let routes = [
            Self.route("v1", #"\#(Self.api), "path": {"prefix": "/v1"}"#),
            Self.route("versions", #"\#(Self.api), "path": {"regex": "/v[0-9]+/.*"}"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/v2/x") == "versions")
    }

    /// Prefixes cover whole segments: `/v1` does not cover `/v10`.
    @Test func wholeSegments() throws {
        let routes = [
            Self.route("v1", #"\#(Self.api), "path": {"prefix": "/v1"}"#),
            Self.route("v10", #"\#(Self.api), "path": {"prefix": "/v10"}"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/v10/a") == "v10")
        #expect(PathMatch.covers(.prefix("/v1"), .prefix("/v1/x")))
        #expect(PathMatch.covers(.prefix("/v1"), .exact("/v1")))
        #expect(PathMatch.covers(.prefix("/v1"), .exact("/v1/")))
        #expect(!PathMatch.covers(.prefix("/v1"), .prefix("/v10")))
        #expect(!PathMatch.covers(.prefix("/v1"), .exact("/v10")))
        #expect(!PathMatch.covers(.prefix("/v1"), .prefix("/")))
        #expect(!PathMatch.covers(.prefix("/v1"), nil))
        #expect(PathMatch.covers(nil, .exact("/x")))
        #expect(PathMatch.covers(.prefix("/"), .regex(try RoutePattern("/.*"))))
        #expect(!PathMatch.covers(.exact("/v1"), .prefix("/v1")))
        #expect(!PathMatch.covers(.regex(try RoutePattern("/.*")), .exact("/v1")))
    }

    @Test func anotherQueryValue() throws {
        let routes = [
            Self.route("beta", #"\#(Self.api), "query": {"beta": "1"}"#),
            Self.route("stable", #"\#(Self.api), "query": {"beta": "0"}"#),
        ]
        #expect(try Self.shadowed(routes) == [])
        #expect(try Self.taker(routes, "/?beta=0") == "stable")
    }

    // MARK: - Never a route that can match

    /// Random tables from a small vocabulary, every request of a universe built from the same
    /// vocabulary (and a few more): no reported route takes any of them, and each report names
    /// routes that do come first in its host class.
    @Test func noReportedRouteTakesARequest() throws {
        let hosts = [
            nil, #"["a.example.com"]"#, #"["b.example.com"]"#, #"["a.example.com", "b.example.com"]"#,
            #"["*.example.com"]"#, #"["*.example.com", "a.example.com"]"#,
        ]
        let paths = [
            nil, #"{"prefix": "/"}"#, #"{"prefix": "/v1"}"#, #"{"prefix": "/v1/x"}"#,
            #"{"prefix": "/v10"}"#, #"{"exact": "/v1"}"#, #"{"exact": "/v1/x"}"#, #"{"regex": "/v1/.*"}"#,
        ]
        let methods = [nil, #"["GET"]"#, #"["POST"]"#, #"["GET", "POST"]"#]
        let headers = [nil, #"{"x": "1"}"#, #"{"x": "2"}"#]
        let queries = [nil, #"{"q": "1"}"#]
        var requests: [OwnedRouteRequest] = []
        for host in [nil, "a.example.com", "b.example.com", "c.example.com", "x.a.example.com", "example.com"] {
            for path in ["/", "/v1", "/v1/", "/v1/x", "/v1/x/y", "/v10", "/v2"] {
                for method in ["GET", "POST", "PUT"] {
                    for header in [nil, "1", "2"] {
                        for query in ["", "?q=1"] {
                            requests.append(
                                try OwnedRouteRequest(
                                    method: method, target: path + query, host: host,
                                    headers: header.map { [("x", $0)] } ?? []))
                        }
                    }
                }
            }
        }
        var random: UInt64 = 15
        func pick<T>(_ options: [T]) -> T {
            random = StickyHash.mix(random)
            return options[Int(random % UInt64(options.count))]
        }
        var reported = 0
        for _ in 0..<300 {
            var routes: [String] = []
            for index in 0..<(3 + Int(StickyHash.mix(random) % 5)) {
                var fields: [String] = []
                if let value = pick(hosts) { fields.append(#""hosts": \#(value)"#) }
                if let value = pick(paths) { fields.append(#""path": \#(value)"#) }
                if let value = pick(methods) { fields.append(#""methods": \#(value)"#) }
                if let value = pick(headers) { fields.append(#""headers": \#(value)"#) }
                if let value = pick(queries) { fields.append(#""query": \#(value)"#) }
                routes.append(Self.route("r\(index)", fields.joined(separator: ", ")))
            }
            let config = try Self.config(routes)
            let table = config.table()
            let taken = Set(requests.compactMap { table.match($0) })
            let order = table.precedence
            let found = config.neverMatching()
            // And the other way, in this universe: a route no request reaches is reported, unless
            // it has a regex path (nothing reads what a regex matches).
            let missed = routes.indices.filter { index in
                if case .regex? = table.routes[index].match.path { return false }
                return !taken.contains(index) && !found.contains { $0.route == index }
            }
            #expect(missed.isEmpty, "never taken but not reported: \(missed) in \(routes)")
            for report in found {
                reported += 1
                #expect(!taken.contains(report.route), "\(report.message) in \(routes)")
                for cover in report.covers {
                    let entries = order.filter { $0.host == cover.host }.map(\.route)
                    for route in cover.routes {
                        #expect(entries.firstIndex(of: route)! < entries.firstIndex(of: report.route)!)
                    }
                }
            }
        }
        // The check did run.
        #expect(reported > 10)
    }
}
