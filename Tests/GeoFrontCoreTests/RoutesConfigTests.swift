import Foundation
import Testing

@testable import GeoFrontCore

/// `services`, `routes` and `default_route` read from real JSON documents: what is read, and
/// every problem with its path.
@Suite struct RoutesConfigTests {
    static let regions = ["us-east", "eu-central", "ap-northeast"]

    static let services = """
        "services": {
          "web":    {"upstreams": {"us-east": ["127.0.0.1:9001"], "eu-central": ["127.0.0.1:9004"]}},
          "api-v1": {"upstreams": {"us-east": ["127.0.0.1:9101"], "eu-central": ["127.0.0.1:9104"]},
                     "health_check": {"path": "/ready"}, "lb": "least_requests"},
          "api-v2": {"upstreams": {"eu-central": ["127.0.0.1:9204"]},
                     "redirect_urls": {"eu-central": "https://api-v2-eu.example.com"}}
        }
        """

    static func parse(_ json: String, mode: RoutingMode = .redirect) throws(ConfigError) -> RoutesConfig {
        try RoutesConfig.parse(Data(json.utf8), regionNames: regions, mode: mode)
    }

    /// The messages for a document with the standard services and `routes`.
    static func messages(routes: String, extra: String = "") -> [String] {
        messages(#"{\#(services), "routes": \#(routes)\#(extra)}"#)
    }

    static func messages(_ json: String, mode: RoutingMode = .redirect) -> [String] {
        do {
            _ = try parse(json, mode: mode)
            return ["<no error>"]
        } catch {
            return error.issues.map(\.description)
        }
    }

    /// The messages for one route given by its JSON fields.
    static func route(_ fields: String) -> [String] {
        messages(routes: "[{\(fields)}]")
    }

    @Test func theIssueExampleLoads() throws {
        let json = """
            {\(Self.services),
             "routes": [
               {"name": "api",
                "match": {"hosts": ["API.example.com", "*.api.example.com"], "path": {"prefix": "/v1/"},
                          "methods": ["GET", "POST"], "headers": {"X-Tenant": "acme"}, "query": {"beta": "1"}},
                "backends": [{"service": "api-v1", "weight": 90}, {"service": "api-v2", "weight": 10}],
                "sticky": {"cookie": "gf_api", "max_age_s": 86400},
                "rewrite": {"path_prefix": "/"},
                "request_headers": {"set": {"x-route": "api"}, "add": {"X-Via": "gf"}, "remove": ["X-Debug"]},
                "response_headers": {"set": {"x-served-by": "geofront"}},
                "rollback": {"max_error_rate": 0.05, "min_requests": 100, "window_s": 60}},
               {"name": "site", "match": {"path": {"prefix": "/"}}, "service": "web"}
             ],
             "default_route": "site",
             "listen": "ignored: the loader reads the other keys"}
            """
        let config = try Self.parse(json)
        #expect(config.services.map(\.name) == ["api-v1", "api-v2", "web"])
        let v1 = config.services[0]
        #expect(v1.loadBalancing == .leastRequests)
        #expect(v1.healthCheck?.path == "/ready")
        #expect(v1.regions == ["us-east", "eu-central"])
        #expect(v1.upstreams["eu-central"] == [UpstreamConfig(address: HostPort(host: "127.0.0.1", port: 9104))])
        let v2 = config.services[1]
        #expect(v2.regions == ["eu-central"])
        #expect(v2.redirectURLs["eu-central"]?.base == "https://api-v2-eu.example.com")
        #expect(v2.healthCheck == nil)
        #expect(v2.mode == .redirect)

        #expect(config.routes.map(\.name) == ["api", "site"])
        let api = config.routes[0]
        #expect(api.match.hosts == [.exact("api.example.com"), .wildcard(suffix: ".api.example.com")])
        #expect(api.match.path == .prefix("/v1"))
        #expect(api.match.methods == ["GET", "POST"])
        #expect(api.match.headers == [NameValue("x-tenant", "acme")])
        #expect(api.match.query == [NameValue("beta", "1")])
        #expect(
            api.backends == [RouteBackend(service: "api-v1", weight: 90), RouteBackend(service: "api-v2", weight: 10)])
        #expect(api.sticky == .cookie(name: "gf_api", maxAgeSeconds: 86400))
        #expect(api.rewritePathPrefix == "/")
        #expect(
            api.requestHeaders
                == HeaderEdits(set: [NameValue("x-route", "api")], add: [NameValue("x-via", "gf")], remove: ["x-debug"])
        )
        #expect(api.responseHeaders == HeaderEdits(set: [NameValue("x-served-by", "geofront")]))
        #expect(api.rollback == RollbackSettings(maxErrorRate: 0.05, minRequests: 100, windowSeconds: 60))
        #expect(config.routes[1].backends == [RouteBackend(service: "web", weight: 1)])
        #expect(config.routes[1].match == RouteMatch(path: .prefix("/")))
        #expect(config.defaultRoute == "site")
        #expect(config.table().defaultRoute == 1)
    }

    @Test func noRoutesAndNoServicesIsAnEmptyTable() throws {
        let config = try Self.parse(#"{"listen": "127.0.0.1:8080"}"#)
        #expect(config == RoutesConfig())
        #expect(config.table().routes.isEmpty)
    }

    @Test func servicesInheritTheGlobalSettings() throws {
        let json = #"{"services": {"web": {"upstreams": {"us-east": ["127.0.0.1:9001"]}, "health_check": false}}}"#
        let config = try RoutesConfig.parse(
            JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)), regionNames: Self.regions, mode: .proxy,
            loadBalancing: .leastRequests, healthCheck: HealthCheckSettings(path: "/up"))
        #expect(config.services[0].mode == .proxy)
        #expect(config.services[0].loadBalancing == .leastRequests)
        #expect(config.services[0].healthCheck == nil)
        let checked = try RoutesConfig.parse(
            JSONDecoder().decode(
                JSONValue.self,
                from: Data(#"{"services": {"web": {"upstreams": {"us-east": ["127.0.0.1:9001"]}}}}"#.utf8)),
            regionNames: Self.regions, healthCheck: HealthCheckSettings(path: "/up"))
        #expect(checked.services[0].healthCheck?.path == "/up")
    }

    // MARK: - Unknown keys and names

    @Test func unknownKeysSuggestTheRightOne() {
        #expect(
            Self.route(#""name": "a", "service": "web", "mtch": {}"#) == [
                #"routes[0].mtch: unknown key (did you mean "match"?)"#
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "match": {"host": ["a.example.com"]}"#) == [
                #"routes[0].match.host: unknown key (did you mean "hosts"?)"#
            ])
        #expect(
            Self.messages(#"{"services": {"web": {"upstream": {"us-east": ["127.0.0.1:1"]}}}}"#) == [
                #"services.web.upstream: unknown key (did you mean "upstreams"?)"#,
                #"services.web: runs in no region: give upstreams or redirect_urls for at least one region"#,
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "sticky": {"cokie": "x"}"#) == [
                #"routes[0].sticky.cokie: unknown key (did you mean "cookie"?)"#,
                "routes[0].sticky: needs exactly one of cookie, header or client_ip",
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "match": {"path": {"prefx": "/"}}"#) == [
                #"routes[0].match.path.prefx: unknown key (did you mean "prefix"?)"#
            ])
    }

    @Test func unknownServices() {
        #expect(
            Self.route(#""name": "a", "service": "wbe""#) == [
                #"routes[0].service: "wbe" is not a service (did you mean "web"?)"#
            ])
        #expect(
            Self.route(#""name": "a", "backends": [{"service": "billing", "weight": 1}]"#) == [
                #"routes[0].backends[0].service: "billing" is not a service; services are: api-v1, api-v2, web"#
            ])
        #expect(
            Self.messages(#"{"routes": [{"name": "a", "service": "web"}]}"#) == [
                #"routes[0].service: "web" is not a service; there are no services"#
            ])
    }

    @Test func unknownRegions() {
        #expect(
            Self.messages(
                #"{"services": {"web": {"upstreams": {"us-est": ["127.0.0.1:1"], "eu-central": ["127.0.0.1:2"]}}}}"#)
                == [#"services.web.upstreams.us-est: "us-est" is not a region (did you mean "us-east"?)"#])
        #expect(
            Self.messages(#"{"services": {"web": {"redirect_urls": {"mars": "https://mars.example.com"}}}}"#) == [
                #"services.web.redirect_urls.mars: "mars" is not a region; regions are: us-east, eu-central, ap-northeast"#
            ])
        #expect(
            Self.messages(#"{"services": {"web": {"mode": "redirect"}}}"#) == [
                "services.web: runs in no region: give upstreams or redirect_urls for at least one region"
            ])
    }

    @Test func defaultRouteMustNameARoute() {
        #expect(
            Self.messages(routes: #"[{"name": "site", "service": "web"}]"#, extra: #", "default_route": "sites""#) == [
                #"default_route: "sites" is not a route (did you mean "site"?)"#
            ])
    }

    // MARK: - Names

    @Test func duplicateRouteName() {
        #expect(
            Self.messages(routes: #"[{"name": "api", "service": "web"}, {"name": "api", "service": "api-v1"}]"#) == [
                #"routes[1].name: "api" is already the name of routes[0]"#
            ])
    }

    @Test func badRouteAndServiceNames() {
        #expect(
            Self.route(#""name": "Api Route", "service": "web""#) == [
                #"routes[0].name: "Api Route" may only use a-z, 0-9, ".", "_" and "-" (at most 63 characters)"#
            ])
        #expect(Self.route(#""service": "web""#) == ["routes[0].name: is required"])
        #expect(
            Self.messages(#"{"services": {"Web": {"upstreams": {"us-east": ["127.0.0.1:1"]}}}}"#) == [
                #"services.Web: the service name may only use a-z, 0-9, ".", "_" and "-" (at most 63 characters)"#
            ])
    }

    // MARK: - Backends

    @Test func weightsOutOfRange() {
        #expect(
            Self.route(
                #""name": "a", "backends": [{"service": "web", "weight": 1001}, {"service": "api-v1", "weight": -1}, {"service": "api-v2", "weight": 2.5}]"#
            ) == [
                "routes[0].backends[0].weight: 1001 must be a whole number in 0…1000",
                "routes[0].backends[1].weight: -1 must be a whole number in 0…1000",
                "routes[0].backends[2].weight: 2.5 must be a whole number in 0…1000",
            ])
        #expect(
            Self.route(#""name": "a", "backends": [{"service": "web"}]"#) == [
                "routes[0].backends[0].weight: is required"
            ])
    }

    @Test func allZeroWeights() {
        #expect(
            Self.route(
                #""name": "a", "backends": [{"service": "web", "weight": 0}, {"service": "api-v1", "weight": 0}]"#)
                == ["routes[0].backends: every weight is 0: at least one backend needs a weight above 0"])
        // One weight above 0 is enough.
        #expect(
            Self.route(
                #""name": "a", "backends": [{"service": "web", "weight": 0}, {"service": "api-v1", "weight": 5}]"#)
                == ["<no error>"])
    }

    @Test func backendsOrServiceExactlyOnce() {
        #expect(Self.route(#""name": "a""#) == [#"routes[0]: needs "backends" or "service""#])
        #expect(
            Self.route(#""name": "a", "service": "web", "backends": [{"service": "web", "weight": 1}]"#) == [
                "routes[0].service: give either backends or service, not both"
            ])
        #expect(Self.route(#""name": "a", "backends": []"#) == ["routes[0].backends: needs at least one backend"])
        #expect(
            Self.route(#""name": "a", "backends": [{"service": "web", "weight": 1}, {"service": "web", "weight": 2}]"#)
                == [#"routes[0].backends[1].service: "web" is already the service of backends[0]"#])
    }

    // MARK: - Match

    @Test func badRegexIsRefusedAtLoad() throws {
        let messages = Self.route(#""name": "a", "service": "web", "match": {"path": {"regex": "/v(1|2"}}"#)
        #expect(messages == [#"routes[0].match.path.regex: "/v(1|2" is not a regular expression: expected ')'"#])
        let config = try Self.parse(
            #"{\#(Self.services), "routes": [{"name": "a", "service": "web", "match": {"path": {"regex": "/v[0-9]+/.*"}}}]}"#
        )
        let pattern = try RoutePattern("/v[0-9]+/.*")
        #expect(config.routes[0].match.path == .regex(pattern))
    }

    @Test func pathValuesMustStartWithASlash() {
        let rule = ##"must start with "/" and have no spaces, controls, non-ASCII, "?" or "#""##
        #expect(
            Self.route(#""name": "a", "service": "web", "match": {"path": {"prefix": "v1"}}"#) == [
                #"routes[0].match.path.prefix: "v1" \#(rule)"#
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "match": {"path": {"exact": "/a?b=1"}}"#) == [
                #"routes[0].match.path.exact: "/a?b=1" \#(rule)"#
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "match": {"path": {"exact": "/a", "prefix": "/b"}}"#) == [
                "routes[0].match.path: needs exactly one of exact, prefix or regex"
            ])
    }

    @Test func hostPatterns() {
        func host(_ text: String) -> [String] {
            Self.route(#""name": "a", "service": "web", "match": {"hosts": ["\#(text)"]}"#)
        }
        let wildcardRule = #"may use "*" only as the whole first label, as in *.example.com"#
        #expect(host("api.*.example.com") == [#"routes[0].match.hosts[0]: "api.*.example.com" \#(wildcardRule)"#])
        #expect(host("*example.com") == [#"routes[0].match.hosts[0]: "*example.com" \#(wildcardRule)"#])
        #expect(host("*.*.example.com") == [#"routes[0].match.hosts[0]: "*.*.example.com" \#(wildcardRule)"#])
        #expect(
            host("api.example.com:443") == [
                #"routes[0].match.hosts[0]: "api.example.com:443" must be a host name without a port (the port is ignored when matching)"#
            ])
        #expect(
            host("a..example.com") == [
                #"routes[0].match.hosts[0]: "a..example.com" is not a host name (letters, digits, "-" and "_" in dot-separated labels)"#
            ])
        #expect(host("*.example.com") == ["<no error>"])
        #expect(host("Example.COM.") == ["<no error>"])
    }

    @Test func methodsHeadersAndQuery() {
        #expect(
            Self.route(#""name": "a", "service": "web", "match": {"methods": ["GET", "BAD METHOD"]}"#) == [
                #"routes[0].match.methods[1]: "BAD METHOD" is not a method name"#
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "match": {"headers": {"x tenant": "a", "x-b": 1}}"#) == [
                #"routes[0].match.headers.x tenant: "x tenant" is not a header name"#,
                "routes[0].match.headers.x-b: expected a string, found a number",
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "match": {"query": {"beta": "a b"}}"#) == [
                ##"routes[0].match.query.beta: "a b" has a space, control, non-ASCII, "&", "=" or "#" (values are compared as sent)"##
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "match": {"query": []}"#) == [
                "routes[0].match.query: expected an object of query parameter names and values, found an array"
            ])
    }

    // MARK: - Sticky, rewrite, header edits, rollback

    @Test func stickyForms() {
        #expect(
            Self.route(#""name": "a", "service": "web", "sticky": {"cookie": "a", "header": "b"}"#) == [
                "routes[0].sticky: needs exactly one of cookie, header or client_ip"
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "sticky": {"client_ip": false}"#) == [
                "routes[0].sticky.client_ip: must be true (leave sticky out for no stickiness)"
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "sticky": {"header": "x-user", "max_age_s": 60}"#) == [
                "routes[0].sticky.max_age_s: is only for a cookie"
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "sticky": {"cookie": "a;b"}"#) == [
                #"routes[0].sticky.cookie: "a;b" is not a cookie name"#
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "sticky": {"cookie": "a", "max_age_s": 0}"#) == [
                "routes[0].sticky.max_age_s: 0 must be a whole number in 1…315360000"
            ])
    }

    @Test func rewriteNeedsAPrefixMatch() {
        #expect(
            Self.route(#""name": "a", "service": "web", "rewrite": {"path_prefix": "/v2"}"#) == [
                "routes[0].rewrite.path_prefix: needs a match.path.prefix: it replaces the matched prefix"
            ])
        #expect(
            Self.route(
                #""name": "a", "service": "web", "match": {"path": {"prefix": "/v1"}}, "rewrite": {"path_prefix": "v2"}"#
            )
                == [
                    ##"routes[0].rewrite.path_prefix: "v2" must start with "/" and have no spaces, controls, non-ASCII, "?" or "#""##
                ])
    }

    @Test func headerEdits() {
        #expect(
            Self.route(
                #""name": "a", "service": "web", "request_headers": {"set": {"x a": "1"}, "remove": ["ok", "b c"], "drop": []}"#
            )
                == [
                    #"routes[0].request_headers.drop: unknown key; allowed here: set, add, remove"#,
                    #"routes[0].request_headers.set.x a: "x a" is not a header name"#,
                    #"routes[0].request_headers.remove[1]: "b c" is not a header name"#,
                ])
        #expect(
            Self.route(#""name": "a", "service": "web", "response_headers": {"add": {"x-a": "line\nbreak"}}"#) == [
                #"routes[0].response_headers.add.x-a: "line?break" has a control or non-ASCII character"#
            ])
    }

    @Test func rollbackSettings() {
        #expect(
            Self.route(#""name": "a", "service": "web", "rollback": {"max_error_rate": 1.5}"#) == [
                "routes[0].rollback.max_error_rate: 1.5 is outside 0…1 (a share: 0.05 is 5 %)"
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "rollback": {"min_requests": 10}"#) == [
                "routes[0].rollback.max_error_rate: is required"
            ])
        #expect(
            Self.route(#""name": "a", "service": "web", "rollback": {"max_error_rate": 0.1, "window_s": 0}"#) == [
                "routes[0].rollback.window_s: 0 must be a whole number in 1…86400"
            ])
    }

    // MARK: - Services

    @Test func serviceSettingsReuseTheRegionReaders() {
        #expect(
            Self.messages(#"{"services": {"web": {"upstreams": {"us-east": ["nohost"]}, "lb": "random"}}}"#) == [
                #"services.web.lb: "random" is not a policy; allowed: "round_robin", "least_requests""#,
                #"services.web.upstreams.us-east[0]: "nohost": expected host:port, e.g. 127.0.0.1:8080"#,
            ])
        #expect(
            Self.messages(
                #"{"services": {"web": {"upstreams": {"us-east": ["127.0.0.1:1"]}, "health_check": {"interval_ms": 100, "timeout_ms": 200}}}}"#
            ) == ["services.web.health_check.timeout_ms: 200 must be less than interval_ms (100)"])
        #expect(
            Self.messages(#"{"services": {"web": {"redirect_urls": {"us-east": "eu.example.com"}}}}"#) == [
                #"services.web.redirect_urls.us-east: "eu.example.com": needs a scheme and a host, e.g. https://eu.example.com"#
            ])
        #expect(
            Self.messages(#"{"services": {"web": {"upstreams": {"us-east": []}}}}"#) == [
                "services.web.upstreams.us-east: needs at least one upstream (leave the region out instead)"
            ])
    }

    @Test func proxyServiceNeedsUpstreams() {
        #expect(
            Self.messages(
                #"{"services": {"web": {"mode": "proxy", "redirect_urls": {"us-east": "https://a.example.com"}}}}"#)
                == ["services.web.upstreams: needs at least one upstream in proxy mode"])
        #expect(
            Self.messages(
                #"{"services": {"web": {"redirect_urls": {"us-east": "https://a.example.com"}}}}"#, mode: .proxy)
                == ["services.web.upstreams: needs at least one upstream in proxy mode"])
        #expect(
            Self.messages(#"{"services": {"web": {"mode": "proxi"}}}"#) == [
                #"services.web.mode: "proxi" is not a mode; allowed: "redirect", "proxy""#
            ])
    }

    @Test func everyProblemIsReportedAndNothingPartialIsReturned() {
        let messages = Self.messages(
            #"{"services": {"web": {"upstreams": {"mars": ["127.0.0.1:1"]}}}, "routes": [{"name": "a", "service": "web", "match": {"path": {"exact": "x"}}}, {"name": "b", "backends": [{"service": "web", "weight": 0}]}], "default_route": "checkout"}"#
        )
        #expect(
            messages == [
                #"services.web.upstreams.mars: "mars" is not a region; regions are: us-east, eu-central, ap-northeast"#,
                ##"routes[0].match.path.exact: "x" must start with "/" and have no spaces, controls, non-ASCII, "?" or "#""##,
                "routes[1].backends: every weight is 0: at least one backend needs a weight above 0",
                #"default_route: "checkout" is not a route; routes are: a, b"#,
            ])
    }

    @Test func malformedJSON() {
        #expect(Self.messages("{").first?.hasPrefix("malformed JSON") == true)
        #expect(
            Self.messages("{\"routes\": [\n  {\"name\": \"a\", \"service\": \"web\"},\n]}") == [
                "malformed JSON: trailing comma at line 2, column 34"
            ])
        #expect(Self.messages(#"{"routes": {}}"#) == ["routes: expected an array, found an object"])
        #expect(Self.messages(#"{"services": []}"#) == ["services: expected an object, found an array"])
    }
}
