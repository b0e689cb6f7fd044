import Foundation
import TestSupport
import Testing

/// Admin `/route` with the request as query parameters: the same explanation as `geofront route
/// --format json`. In ``OperationsTests``, which runs its rigs one at a time (the admin answers
/// from the concurrency pool, which the tests' blocking clients would otherwise fill).
extension OperationsTests {
    /// Redirect services: `api` in eu-west and us-east, `beta` in eu-central. `beta` takes
    /// api.example.test with `x-beta: 1`, `api` takes its `/v1/` (rewritten to `/`, sticky cookie).
    static let adminRoutes = """
        "services": {
          "api": {"redirect_urls": {"eu-west": "https://api-eu.example.test", "us-east": "https://api-us.example.test"}},
          "beta": {"redirect_urls": {"eu-central": "https://beta.example.test"}}
        },
        "routes": [
          {"name": "beta", "match": {"hosts": ["api.example.test"], "path": {"prefix": "/v1/"}, "headers": {"x-beta": "1"}},
           "service": "beta"},
          {"name": "api", "match": {"hosts": ["api.example.test"], "path": {"prefix": "/v1/"}}, "service": "api",
           "rewrite": {"path_prefix": "/"}, "sticky": {"cookie": "gf"}}
        ],
        """

    @Test func routeTakesTheRequestAsQueryParameters() async throws {
        let rig = try await OperationsRig(extra: Self.adminRoutes)
        defer { Task { try await rig.stop() } }

        let api = try rig.adminJSON(
            "GET", "/route?ip=81.2.69.142&host=api.example.test&path=/v1/users%3Fq%3D1&cookie=gf%3Dabc")
        #expect(api["region"] as? String == "eu-west")
        #expect(api["reason"] as? String == "nearest")
        #expect(api["action"] as? String == "redirect")
        #expect(api["route"] as? String == "api")
        #expect(api["route_reason"] as? String == "matched")
        #expect(api["service"] as? String == "api")
        let tried = api["tried"] as? [[String: Any]] ?? []
        #expect(tried.count == 1)
        #expect(tried.first?["route"] as? String == "beta")
        #expect(tried.first?["host"] as? String == "api.example.test")
        #expect(tried.first?["failed_field"] as? String == "headers.x-beta")
        let backend = api["backend"] as? [String: Any] ?? [:]
        #expect(backend["by"] as? String == "sticky")
        #expect(backend["point"] is Double)
        let target = api["target"] as? [String: Any] ?? [:]
        #expect(target["status"] as? Int == 302)
        #expect(target["location"] as? String == "https://api-eu.example.test/users?q=1")
        #expect((api["candidates"] as? [[String: Any]])?.map { $0["region"] as? String } == ["eu-west", "us-east"])

        // Repeated headers all count; the beta route takes the request to its service's region.
        let beta = try rig.adminJSON(
            "GET", "/route?ip=81.2.69.142&host=api.example.test&path=/v1/users&header=x-other:2&header=x-beta:%201")
        #expect(beta["route"] as? String == "beta")
        #expect((beta["tried"] as? [Any])?.isEmpty == true)
        #expect(beta["service"] as? String == "beta")
        #expect(beta["region"] as? String == "eu-central")
        #expect((beta["request"] as? [String: Any])?["headers"] as? [String] == ["x-other: 2", "x-beta: 1"])
        #expect((beta["target"] as? [String: Any])?["location"] as? String == "https://beta.example.test/v1/users")

        // No host: no route, 404 (answered with 200: the explanation itself is fine).
        let missed = try rig.admin("GET", "/route?ip=81.2.69.142&path=/v1/users")
        #expect(missed.status == 200)
        let object = try JSONSerialization.jsonObject(with: Data(missed.body)) as? [String: Any] ?? [:]
        #expect(object["status"] as? Int == 404)
        #expect(object["route_reason"] as? String == "no_match")
        #expect((object["tried"] as? [[String: Any]])?.map { $0["failed_field"] as? String } == ["hosts", "hosts"])

        #expect(try rig.admin("GET", "/route?ip=81.2.69.142&header=x-beta").status == 400)
        #expect(try rig.admin("GET", "/route?ip=81.2.69.142&hots=api.example.test").status == 400)
        #expect(try rig.admin("GET", "/route?host=api.example.test").status == 400)
    }
}
