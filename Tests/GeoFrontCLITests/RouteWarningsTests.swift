import Foundation
import GeoFrontCore
import Testing

@testable import GeoFrontCLI

/// check-config's warnings about routes that can never match.
@Suite struct RouteWarningsTests {
    static func routes(_ json: String) throws -> RoutesConfig {
        try RoutesConfig.parse(Data(json.utf8), regionNames: ["us-east"])
    }

    static let services = #""services": {"web": {"upstreams": {"us-east": ["127.0.0.1:9001"]}}}"#

    @Test func oneWarningLinePerShadowedRoute() throws {
        let config = try Self.routes(
            #"""
            {\#(Self.services), "routes": [
              {"name": "d", "service": "web", "match": {"hosts": ["api.example.com"], "path": {"prefix": "/v1/x"}}},
              {"name": "c", "service": "web", "match": {"hosts": ["api.example.com"], "path": {"prefix": "/v1/x"}}},
              {"name": "site", "service": "web"}
            ]}
            """#)
        #expect(
            CheckConfigCommand.routeWarnings(config) == [
                #"warning: route "c" can never match: route "d" (same hosts, path prefix /v1/x, file order first) takes every request it would"#
            ])
    }

    @Test func noWarningsWhenEveryRouteCanMatch() throws {
        let config = try Self.routes(
            #"""
            {\#(Self.services), "routes": [
              {"name": "v1", "service": "web", "match": {"path": {"prefix": "/v1"}}},
              {"name": "site", "service": "web"}
            ]}
            """#)
        #expect(CheckConfigCommand.routeWarnings(config).isEmpty)
    }
}
