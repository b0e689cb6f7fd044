import Foundation
import Testing

@testable import GeoFrontCore

/// `services`, `routes` and `default_route` through the loader: what a whole file with routes
/// means, and the checks that span the sections.
@Suite struct ConfigLoaderRoutesTests {
    /// The loader's valid file with two services and two routes; regions keep their own keys.
    static func routed() -> [String: Any] {
        var object = ConfigLoaderTests.valid()
        object["services"] = [
            "web": ["upstreams": ["us-east": ["127.0.0.1:9001"], "eu-central": ["127.0.0.1:9004"]], "mode": "proxy"],
            "api-v2": ["redirect_urls": ["eu-central": "https://api-v2-eu.example.com"]],
        ]
        object["routes"] = [
            ["name": "api", "match": ["path": ["prefix": "/v2/"]], "service": "api-v2"],
            ["name": "site", "service": "web"],
        ]
        object["default_route"] = "site"
        return object
    }

    static func messages(_ change: (inout [String: Any]) -> Void) -> [String] {
        var object = routed()
        change(&object)
        return ConfigLoaderTests.messages(object)
    }

    @Test func aFileWithRoutesLoadsWithEachServiceInTheRegionsItRunsIn() throws {
        let config = try ConfigLoaderTests.parse(Self.routed())
        let routes = try #require(config.routes)
        #expect(routes.routes.map(\.name) == ["api", "site"])
        #expect(routes.defaultRoute == "site")
        // The regions first, then each service (by name) in the regions it runs in, file order.
        #expect(
            config.deployments.map(\.id) == [
                "us-east", "eu-central", "ap-northeast", "api-v2/eu-central", "web/us-east", "web/eu-central",
            ])
        let web = config.deployments[5]
        #expect(web.name == "eu-central" && web.service == "web" && web.mode == .proxy)
        #expect(web.upstreams.map(\.description) == ["127.0.0.1:9004"])
        #expect(web.location == config.regions[1].location)
        let api = config.deployments[3]
        #expect(api.mode == .redirect && api.redirectURL?.base == "https://api-v2-eu.example.com")
    }

    @Test func withRoutesARegionNeedsNoRedirectURLOrUpstreams() throws {
        var object = Self.routed()
        var regions = object["regions"] as! [[String: Any]]
        regions[2]["redirect_url"] = nil
        regions[0]["upstreams"] = nil
        regions[0]["mode"] = "proxy"
        object["regions"] = regions
        #expect(ConfigLoaderTests.messages(object) == ["<no error>"])
        object["routes"] = nil
        object["services"] = nil
        object["default_route"] = nil
        #expect(
            ConfigLoaderTests.messages(object) == [
                "regions[0].upstreams: needs at least one upstream in proxy mode",
                "regions[2].redirect_url: is required in redirect mode",
            ])
    }

    @Test func aRedirectServiceNeedsAURLInEveryRegionItRunsIn() {
        let messages = Self.messages { object in
            var regions = object["regions"] as! [[String: Any]]
            regions[0]["redirect_url"] = nil
            object["regions"] = regions
            object["services"] = [
                "web": ["upstreams": ["us-east": ["127.0.0.1:9001"]], "mode": "redirect"],
                "api-v2": ["redirect_urls": ["eu-central": "https://api-v2-eu.example.com"]],
            ]
        }
        #expect(
            messages == [
                #"services.web.redirect_urls.us-east: is needed: the service answers with redirects and region "us-east" has no redirect_url"#
            ])
    }

    @Test func routesNameKnownServicesAndDefaultRouteAKnownRoute() {
        let messages = Self.messages { object in
            object["routes"] = [["name": "api", "service": "api-v3"], ["name": "site", "service": "web"]]
            object["default_route"] = "sites"
        }
        #expect(
            messages == [
                #"routes[0].service: "api-v3" is not a service (did you mean "api-v2"?)"#,
                #"default_route: "sites" is not a route (did you mean "site"?)"#,
            ])
    }

    @Test func aServiceNamesOnlyDeclaredRegions() {
        let messages = Self.messages { object in
            object["services"] = [
                "web": ["upstreams": ["us-eats": ["127.0.0.1:9001"]], "mode": "proxy"],
                "api-v2": ["redirect_urls": ["eu-central": "https://api-v2-eu.example.com"]],
            ]
        }
        #expect(
            messages.first == #"services.web.upstreams.us-eats: "us-eats" is not a region (did you mean "us-east"?)"#)
    }
}
