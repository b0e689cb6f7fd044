import Foundation
import GeoFrontCore
import GeoIP
import TestSupport
import Testing

/// The request `geofront route` and admin `/route` explain, read from strings.
@Suite struct RouteQuestionTests {
    @Test func headersAndCookiesBecomeFieldLines() throws {
        let question = try RouteQuestion(
            method: "POST", host: "api.example.com", path: "/v1/users?beta=1", headers: ["X-Tenant : acme", "x-a:"],
            cookies: ["gf=abc", " other=1"])
        #expect(question.headers.map(\.name) == ["X-Tenant", "x-a", "Cookie"])
        #expect(question.headers.map(\.value) == ["acme", "", "gf=abc; other=1"])
        #expect(question.request.text(question.request.request.host) == "api.example.com")
        #expect(
            question.description
                == "POST /v1/users?beta=1, host api.example.com, X-Tenant: acme, x-a: , Cookie: gf=abc; other=1")
        #expect(RouteQuestion.root.description == "GET /, host none")
        #expect(try RouteQuestion(host: "").host == nil)
    }

    @Test func badInputsAreNamed() {
        func message(_ body: () throws -> RouteQuestion) -> String? {
            do {
                _ = try body()
                return nil
            } catch {
                return (error as? RouteQuestion.Invalid)?.description ?? "\(error)"
            }
        }
        #expect(message { try RouteQuestion(headers: ["x-beta"]) } == #"a header is NAME:VALUE, not "x-beta""#)
        #expect(message { try RouteQuestion(headers: [":1"]) } == #"a header is NAME:VALUE, not ":1""#)
        #expect(message { try RouteQuestion(cookies: ["gf"]) } == #"a cookie is NAME=VALUE, not "gf""#)
        #expect(message { try RouteQuestion(path: "v1") } == #"the path must start with "/": "v1""#)
        #expect(message { try RouteQuestion(method: "") } == "the method is empty")
        #expect(
            message { try RouteQuestion(headers: ["x-a: 1\r\nHost: evil"]) }?.contains("contains a control character")
                == true)
        #expect(message { try RouteQuestion(headers: ["x a: 1"]) }?.hasPrefix("not a valid HTTP request") == true)
        #expect(message { try RouteQuestion(path: "/a b") }?.hasPrefix("not a valid HTTP request") == true)
    }

    /// A route whose backends all have weight 0 at run time (a rollback) answers 404: the
    /// explanation names the route instead of saying that none matched.
    @Test func aRouteWithoutWeightIsNamed() throws {
        let json = """
            {"listen": "127.0.0.1:8080", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "regions": [{"name": "eu", "location": {"latitude": 50.11, "longitude": 8.68},
                          "redirect_url": "https://eu.example.com"}],
             "services": {"a": {"redirect_urls": {"eu": "https://a.example.com"}},
                          "b": {"redirect_urls": {"eu": "https://b.example.com"}}},
             "routes": [{"name": "api", "backends": [{"service": "a", "weight": 1}, {"service": "b", "weight": 1}]}]}
            """
        let snapshot = try RoutingSnapshot.open(config: ConfigLoader.parse(Data(json.utf8), baseDirectory: "/"))
        let client = IPAddress("81.2.69.142")!
        #expect(snapshot.explain(client).target.text == "302 Location: https://b.example.com/")
        let explanation = snapshot.with(routeWeights: [[0, 0]]).explain(client)
        #expect(explanation.decision.action == .notFound)
        #expect(explanation.routeText == "api (matched), but every backend's weight is 0: 404")
        #expect(explanation.reasonText == "route api has every backend at weight 0: 404")
        #expect(explanation.json.contains(#""route":"api","route_reason":"matched","weightless":true"#))
        #expect(explanation.json.contains(#""status":404"#))
    }
}
