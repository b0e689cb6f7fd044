import GeoFrontCore
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
}
