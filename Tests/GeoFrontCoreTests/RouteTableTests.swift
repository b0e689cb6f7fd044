import Foundation
import Testing

@testable import GeoFrontCore

/// Matching requests against compiled routes: the precedence rules (each with the winning route
/// listed last, so file order cannot be what picks it), every match field, and the explanation.
@Suite struct RouteTableTests {
    /// A route to the `web` service with the given `match` fields.
    static func route(_ name: String, _ match: String = "") -> String {
        #"{"name": "\#(name)", "service": "web", "match": {\#(match)}}"#
    }

    static func table(_ routes: [String], defaultRoute: String? = nil) throws -> RouteTable {
        let extra = defaultRoute.map { #", "default_route": "\#($0)""# } ?? ""
        let json = #"{\#(RoutesConfigTests.services), "routes": [\#(routes.joined(separator: ", "))]\#(extra)}"#
        return try RoutesConfigTests.parse(json).table()
    }

    /// The name of the route a request matches, or nil.
    static func matched(
        _ table: RouteTable, _ target: String, host: String? = "example.com", method: String = "GET",
        headers: [(name: String, value: String)] = []
    ) throws -> String? {
        let request = try OwnedRouteRequest(method: method, target: target, host: host, headers: headers)
        let index = table.match(request)
        // The explanation must always agree with the fast path.
        #expect(table.explain(request).matched == index)
        return index.map { table.routes[$0].name }
    }

    // MARK: - Precedence, one rule each

    @Test func exactHostBeatsWildcardHost() throws {
        let table = try Self.table([
            Self.route("wild", #""hosts": ["*.example.com"]"#), Self.route("exact", #""hosts": ["api.example.com"]"#),
        ])
        #expect(try Self.matched(table, "/", host: "api.example.com") == "exact")
        #expect(try Self.matched(table, "/", host: "www.example.com") == "wild")
    }

    @Test func longerWildcardSuffixFirst() throws {
        let table = try Self.table([
            Self.route("short", #""hosts": ["*.example.com"]"#), Self.route("long", #""hosts": ["*.api.example.com"]"#),
        ])
        #expect(try Self.matched(table, "/", host: "eu.api.example.com") == "long")
        #expect(try Self.matched(table, "/", host: "eu.www.example.com") == "short")
    }

    @Test func routesWithoutHostsComeAfterWildcards() throws {
        let table = try Self.table([Self.route("any"), Self.route("wild", #""hosts": ["*.example.com"]"#)])
        #expect(try Self.matched(table, "/", host: "a.example.com") == "wild")
        #expect(try Self.matched(table, "/", host: "example.org") == "any")
    }

    @Test func theHostClassComesBeforeThePath() throws {
        let table = try Self.table([
            Self.route("exact-path", #""path": {"exact": "/x"}"#),
            Self.route("host-regex", #""hosts": ["api.example.com"], "path": {"regex": "/.*"}"#),
        ])
        #expect(try Self.matched(table, "/x", host: "api.example.com") == "host-regex")
        #expect(try Self.matched(table, "/x", host: "example.com") == "exact-path")
    }

    @Test func exactPathBeatsPrefix() throws {
        let table = try Self.table([
            Self.route("prefix", #""path": {"prefix": "/v1"}"#),
            Self.route("exact", #""path": {"exact": "/v1/users"}"#),
        ])
        #expect(try Self.matched(table, "/v1/users") == "exact")
        #expect(try Self.matched(table, "/v1/other") == "prefix")
    }

    @Test func longerPrefixBeatsShorterPrefix() throws {
        let table = try Self.table([
            Self.route("root", #""path": {"prefix": "/"}"#), Self.route("v1", #""path": {"prefix": "/v1"}"#),
            Self.route("users", #""path": {"prefix": "/v1/users"}"#),
        ])
        #expect(try Self.matched(table, "/v1/users/7") == "users")
        #expect(try Self.matched(table, "/v1/orders") == "v1")
        #expect(try Self.matched(table, "/v2") == "root")
    }

    @Test func prefixBeatsRegex() throws {
        let table = try Self.table([
            Self.route("regex", #""path": {"regex": "/v1/.*"}"#), Self.route("prefix", #""path": {"prefix": "/v1"}"#),
        ])
        #expect(try Self.matched(table, "/v1/a") == "prefix")
        // A route without a path is a prefix of "/": it too comes before a regex.
        let bare = try Self.table([Self.route("regex", #""path": {"regex": "/.*"}"#), Self.route("bare")])
        #expect(try Self.matched(bare, "/v1/a") == "bare")
    }

    @Test func aRouteWithMethodsBeatsOneWithout() throws {
        let table = try Self.table([Self.route("any"), Self.route("get", #""methods": ["GET"]"#)])
        #expect(try Self.matched(table, "/") == "get")
        #expect(try Self.matched(table, "/", method: "POST") == "any")
    }

    @Test func moreHeaderMatchesFirst() throws {
        let table = try Self.table([
            Self.route("one", #""headers": {"x-a": "1"}"#), Self.route("two", #""headers": {"x-a": "1", "x-b": "2"}"#),
        ])
        #expect(try Self.matched(table, "/", headers: [("x-a", "1"), ("x-b", "2")]) == "two")
        #expect(try Self.matched(table, "/", headers: [("x-a", "1")]) == "one")
    }

    @Test func moreQueryMatchesFirst() throws {
        let table = try Self.table([
            Self.route("one", #""query": {"a": "1"}"#), Self.route("two", #""query": {"a": "1", "b": "2"}"#),
        ])
        #expect(try Self.matched(table, "/?b=2&a=1") == "two")
        #expect(try Self.matched(table, "/?a=1") == "one")
    }

    @Test func fileOrderBreaksTies() throws {
        let forward = try Self.table([
            Self.route("first", #""path": {"prefix": "/a"}"#), Self.route("second", #""path": {"prefix": "/a/"}"#),
        ])
        #expect(try Self.matched(forward, "/a/b") == "first")
        let backward = try Self.table([
            Self.route("second", #""path": {"prefix": "/a/"}"#), Self.route("first", #""path": {"prefix": "/a"}"#),
        ])
        #expect(try Self.matched(backward, "/a/b") == "second")
    }

    /// The rules apply in their order: a longer prefix outranks methods, methods outrank
    /// headers, headers outrank query parameters.
    @Test func theRulesApplyInOrder() throws {
        let pathFirst = try Self.table([
            Self.route("methods", #""methods": ["GET"], "headers": {"x-a": "1"}"#),
            Self.route("longer", #""path": {"prefix": "/v1"}"#),
        ])
        #expect(try Self.matched(pathFirst, "/v1/x", headers: [("x-a", "1")]) == "longer")
        let methodsFirst = try Self.table([
            Self.route("headers", #""headers": {"x-a": "1", "x-b": "1"}"#),
            Self.route("methods", #""methods": ["GET"]"#),
        ])
        #expect(try Self.matched(methodsFirst, "/", headers: [("x-a", "1"), ("x-b", "1")]) == "methods")
        let headersFirst = try Self.table([
            Self.route("query", #""query": {"a": "1", "b": "1"}"#), Self.route("headers", #""headers": {"x-a": "1"}"#),
        ])
        #expect(try Self.matched(headersFirst, "/?a=1&b=1", headers: [("x-a", "1")]) == "headers")
    }

    @Test func aFailedHigherRouteFallsThroughToTheNext() throws {
        let table = try Self.table([
            Self.route("site"), Self.route("api", #""hosts": ["api.example.com"], "path": {"prefix": "/v1"}"#),
        ])
        #expect(try Self.matched(table, "/v2", host: "api.example.com") == "site")
    }

    // MARK: - Hosts

    @Test func hostsIgnoreCasePortAndTrailingDot() throws {
        let table = try Self.table([Self.route("api", #""hosts": ["api.example.com"]"#)])
        #expect(try Self.matched(table, "/", host: "API.Example.COM:8443") == "api")
        #expect(try Self.matched(table, "/", host: "api.example.com.") == "api")
        #expect(try Self.matched(table, "/", host: "api.example.com.:80") == "api")
        #expect(try Self.matched(table, "/", host: "api.example.co") == nil)
        #expect(try Self.matched(table, "/", host: "[::1]:8080") == nil)
    }

    @Test func wildcardsMatchOneOrMoreLabels() throws {
        let table = try Self.table([Self.route("wild", #""hosts": ["*.Example.com"]"#)])
        #expect(try Self.matched(table, "/", host: "a.example.com") == "wild")
        #expect(try Self.matched(table, "/", host: "a.b.EXAMPLE.com:80") == "wild")
        #expect(try Self.matched(table, "/", host: "example.com") == nil)
        #expect(try Self.matched(table, "/", host: "aexample.com") == nil)
        #expect(try Self.matched(table, "/", host: ".example.com") == nil)
    }

    @Test func aRequestWithoutAHostMatchesOnlyRoutesWithoutHosts() throws {
        let table = try Self.table([Self.route("api", #""hosts": ["api.example.com"]"#), Self.route("any")])
        #expect(try Self.matched(table, "/", host: nil) == "any")
    }

    @Test func anAbsoluteFormTargetUsesItsAuthority() throws {
        let table = try Self.table([
            Self.route("root", #""hosts": ["api.example.com"], "path": {"exact": "/"}"#),
            Self.route("v1", #""hosts": ["api.example.com"], "path": {"prefix": "/v1"}, "query": {"beta": "1"}"#),
        ])
        #expect(try Self.matched(table, "http://api.example.com:80/v1/x?beta=1", host: "other.org") == "v1")
        #expect(try Self.matched(table, "http://API.example.com", host: "other.org") == "root")
        #expect(try Self.matched(table, "/v1/x?beta=1", host: "other.org") == nil)
    }

    // MARK: - Paths

    @Test func prefixesMatchWholeSegments() throws {
        for prefix in ["/v1", "/v1/"] {
            let table = try Self.table([Self.route("v1", #""path": {"prefix": "\#(prefix)"}"#)])
            for path in ["/v1", "/v1/", "/v1/x", "/v1/x/y", "/v1?x=1"] {
                #expect(try Self.matched(table, path) == "v1", "\(prefix) should match \(path)")
            }
            for path in ["/v10", "/v", "/V1", "/", "/x/v1"] {
                #expect(try Self.matched(table, path) == nil, "\(prefix) should not match \(path)")
            }
        }
        let root = try Self.table([Self.route("root", #""path": {"prefix": "/"}"#)])
        for path in ["/", "/anything", "/a/b?c=d"] { #expect(try Self.matched(root, path) == "root") }
    }

    @Test func exactPathsIgnoreOnlyTheQuery() throws {
        let table = try Self.table([Self.route("a", #""path": {"exact": "/a"}"#)])
        #expect(try Self.matched(table, "/a") == "a")
        #expect(try Self.matched(table, "/a?x=1") == "a")
        #expect(try Self.matched(table, "/a/") == nil)
        #expect(try Self.matched(table, "/ab") == nil)
    }

    @Test func regexesMatchTheWholePath() throws {
        let table = try Self.table([Self.route("versioned", #""path": {"regex": "/v[0-9]+"}"#)])
        #expect(try Self.matched(table, "/v2") == "versioned")
        #expect(try Self.matched(table, "/v22?q=1") == "versioned")
        #expect(try Self.matched(table, "/v2/x") == nil)
        #expect(try Self.matched(table, "/xv2") == nil)
    }

    // MARK: - Methods, headers, query

    @Test func methodsAreExact() throws {
        let table = try Self.table([Self.route("read", #""methods": ["GET", "HEAD"]"#)])
        #expect(try Self.matched(table, "/") == "read")
        #expect(try Self.matched(table, "/", method: "HEAD") == "read")
        #expect(try Self.matched(table, "/", method: "get") == nil)
        #expect(try Self.matched(table, "/", method: "POST") == nil)
    }

    @Test func headersMatchExactValuesWithNamesInAnyCase() throws {
        let table = try Self.table([Self.route("acme", #""headers": {"X-Tenant": "acme"}"#)])
        #expect(try Self.matched(table, "/", headers: [("x-tenant", "acme")]) == "acme")
        #expect(try Self.matched(table, "/", headers: [("X-TENANT", "  acme  ")]) == "acme")
        #expect(try Self.matched(table, "/", headers: [("x-tenant", "Acme")]) == nil)
        #expect(try Self.matched(table, "/", headers: [("x-tenants", "acme")]) == nil)
        #expect(try Self.matched(table, "/") == nil)
        // The first line with the name counts.
        #expect(try Self.matched(table, "/", headers: [("x-tenant", "other"), ("x-tenant", "acme")]) == nil)
    }

    @Test func queryMatchesNamedParametersOutsideThePath() throws {
        let table = try Self.table([Self.route("beta", #""query": {"beta": "1"}"#)])
        #expect(try Self.matched(table, "/?beta=1") == "beta")
        #expect(try Self.matched(table, "/x?a=2&beta=1&c") == "beta")
        for target in ["/?beta=10", "/?beta", "/?betas=1", "/?xbeta=1", "/beta=1", "/?a=beta=1", "/"] {
            #expect(try Self.matched(table, target) == nil, "\(target)")
        }
        #expect(try Self.matched(table, "/?beta=2&beta=1") == nil)
        let flag = try Self.table([Self.route("flag", #""query": {"debug": ""}"#)])
        #expect(try Self.matched(flag, "/?debug") == "flag")
        #expect(try Self.matched(flag, "/?debug=") == "flag")
        #expect(try Self.matched(flag, "/?debug=1") == nil)
    }

    // MARK: - No match, default route, explanation

    @Test func noMatchIsNilAndTheDefaultRouteIsNamed() throws {
        let table = try Self.table(
            [Self.route("api", #""path": {"prefix": "/api"}"#), Self.route("site", #""hosts": ["www.example.com"]"#)],
            defaultRoute: "site")
        #expect(try Self.matched(table, "/other") == nil)
        #expect(table.defaultRoute == 1)
        let explanation = table.explain(try OwnedRouteRequest(target: "/other", host: "example.com"))
        #expect(explanation.matched == nil)
        #expect(explanation.chosen == 1)
        #expect(explanation.attempts.map(\.mismatch) == [.host, .path])
    }

    @Test func theExplanationNamesEachFailedField() throws {
        let table = try Self.table([
            Self.route("site"),
            Self.route("q", #""hosts": ["api.example.com"], "path": {"prefix": "/v1"}, "query": {"beta": "1"}"#),
            Self.route(
                "hd", #""hosts": ["api.example.com"], "path": {"prefix": "/v1"}, "headers": {"x-tenant": "acme"}"#),
            Self.route("m", #""hosts": ["api.example.com"], "path": {"prefix": "/v1"}, "methods": ["POST"]"#),
            Self.route("p", #""hosts": ["api.example.com"], "path": {"exact": "/nope"}"#),
            Self.route("h", #""hosts": ["other.example.com"]"#),
        ])
        let request = try OwnedRouteRequest(target: "/v1/x", host: "api.example.com", headers: [("x-tenant", "other")])
        let explanation = table.explain(request)
        let names = explanation.attempts.map { table.routes[$0.route].name }
        #expect(names == ["p", "m", "hd", "q", "h", "site"])
        #expect(explanation.attempts.map(\.mismatch) == [.path, .method, .header(0), .query(0), .host, nil])
        #expect(
            explanation.attempts.map(\.host) == [
                .exact("api.example.com"), .exact("api.example.com"), .exact("api.example.com"),
                .exact("api.example.com"), .exact("other.example.com"), nil,
            ])
        #expect(explanation.failed.count == 5)
        #expect(explanation.matched == 0)
        #expect(table.match(request) == 0)
        let fields = explanation.failed.map { $0.mismatch!.field(in: table.routes[$0.route]) }
        #expect(fields == ["path", "methods", "headers.x-tenant", "query.beta", "hosts"])
    }

    @Test func aRouteTakesPartOncePerHost() throws {
        let table = try Self.table([
            Self.route("wide", #""hosts": ["*.example.com"]"#),
            Self.route("both", #""hosts": ["api.example.com", "*.api.example.com"], "path": {"prefix": "/v1"}"#),
        ])
        #expect(try Self.matched(table, "/v1", host: "api.example.com") == "both")
        #expect(try Self.matched(table, "/v1", host: "eu.api.example.com") == "both")
        #expect(try Self.matched(table, "/v2", host: "eu.api.example.com") == "wide")
        #expect(table.precedence.map { table.routes[$0.route].name } == ["both", "both", "wide"])
    }

    // MARK: - The request view

    @Test func cookiesAndHeadersAreFoundInPlace() throws {
        let request = try OwnedRouteRequest(
            target: "/", host: "example.com",
            headers: [("Cookie", "a=1; gf=x"), ("cookie", #"gf_api="q v"; gf_api=second"#), ("X-User", " u1 ")])
        request.withRequest { view, bytes in
            #expect(request.text(view.cookie(Array("gf_api".utf8), in: bytes)) == "q v")
            #expect(request.text(view.cookie(Array("gf".utf8), in: bytes)) == "x")
            #expect(view.cookie(Array("g".utf8), in: bytes) == nil)
            #expect(request.text(view.header(Array("x-user".utf8), in: bytes)) == "u1")
            #expect(request.text(view.host) == "example.com")
            #expect(request.text(view.path) == "/")
            #expect(view.query == nil)
        }
        #expect(throws: RequestHeadError.badRequest) { try OwnedRouteRequest(target: "/a b") }
    }
}
