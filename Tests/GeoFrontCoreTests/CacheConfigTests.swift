import Foundation
import Testing

@testable import GeoFrontCore

/// The `cache` key: the top level, a route's and a service's overrides, and which settings a request
/// gets (route over service over top level).
@Suite struct CacheConfigTests {
    static func config(_ change: (inout [String: Any]) -> Void) throws(ConfigError) -> GeoFrontConfig {
        var object = ConfigLoaderRoutesTests.routed()
        change(&object)
        return try ConfigLoaderTests.parse(object)
    }

    static func messages(_ change: (inout [String: Any]) -> Void) -> [String] {
        ConfigLoaderRoutesTests.messages(change)
    }

    /// The routed file with `cache` on services and routes: `web` and `api-v2`, routes `api` (0) and
    /// `site` (1).
    static func messages(
        top: Any?, web: Any? = nil, api: Any? = nil, site: Any? = nil
    ) -> [String] {
        messages { object in set(&object, top: top, web: web, api: api, site: site) }
    }

    static func set(_ object: inout [String: Any], top: Any?, web: Any? = nil, api: Any? = nil, site: Any? = nil) {
        object["cache"] = top
        var services = object["services"] as! [String: [String: Any]]
        services["web"]?["cache"] = web
        object["services"] = services
        var routes = object["routes"] as! [[String: Any]]
        routes[0]["cache"] = api
        routes[1]["cache"] = site
        object["routes"] = routes
    }

    @Test func offWhenAbsentOrNull() throws {
        #expect(try ConfigLoaderTests.parse(ConfigLoaderTests.valid()).cache == nil)
        var object = ConfigLoaderTests.valid()
        object["cache"] = NSNull()
        let config = try ConfigLoaderTests.parse(object)
        #expect(config.cache == nil)
        #expect(config.cacheSettings(route: nil, service: nil) == nil)
    }

    @Test func anEmptyObjectHasEveryDefault() throws {
        var object = ConfigLoaderTests.valid()
        object["cache"] = [String: Any]()
        let cache = try #require(try ConfigLoaderTests.parse(object).cache)
        #expect(cache == CacheSettings())
        #expect(cache.memoryMB == 256 && cache.maxObjectKB == 8192)
        #expect(cache.staleIfErrorSeconds == 0 && cache.staleWhileRevalidateSeconds == 0)
        #expect(!cache.includeRegion && cache.query == .all)
        #expect(cache.memoryBytes == 256 << 20 && cache.maxObjectBytes == 8192 << 10)
    }

    @Test func everyKeyIsRead() throws {
        var object = ConfigLoaderTests.valid()
        object["cache"] = [
            "memory_mb": 64, "max_object_kb": 1024, "stale_if_error_s": 300, "stale_while_revalidate_s": 30,
            "key": ["include_region": true, "query": "none"],
        ]
        let cache = try ConfigLoaderTests.parse(object).cache
        #expect(
            cache
                == CacheSettings(
                    memoryMB: 64, maxObjectKB: 1024, staleIfErrorSeconds: 300, staleWhileRevalidateSeconds: 30,
                    includeRegion: true, query: CacheQueryPolicy.none))
    }

    @Test func theQueryAllowListIsSortedAndEachNameOnce() throws {
        var object = ConfigLoaderTests.valid()
        object["cache"] = ["key": ["query": ["v", "lang", "v", "id"]]]
        #expect(try ConfigLoaderTests.parse(object).cache?.query == .allow(["id", "lang", "v"]))
    }

    @Test func topLevelErrorsNameTheKeyAndTheReason() {
        func messages(_ cache: Any) -> [String] {
            ConfigLoaderTests.with { $0["cache"] = cache }
        }
        #expect(messages(["memory_mb": 0]) == ["cache.memory_mb: 0 must be a whole number in 1…1048576"])
        #expect(messages(["memory_mb": 1.5]) == ["cache.memory_mb: 1.5 must be a whole number in 1…1048576"])
        #expect(messages(["memory_mb": "256"]) == ["cache.memory_mb: expected a number, found a string"])
        #expect(messages(["max_object_kb": 0]) == ["cache.max_object_kb: 0 must be a whole number in 1…1073741824"])
        #expect(
            messages(["memory_mb": 1, "max_object_kb": 1025]) == [
                "cache.max_object_kb: 1025 KiB is more than the cache holds (memory_mb 1 = 1024 KiB)"
            ])
        #expect(messages(["memory_mb": 1, "max_object_kb": 1024]) == ["<no error>"])
        #expect(messages(["max_object_kb": 262_145]).count == 1)
        #expect(
            messages(["stale_if_error_s": -1]) == ["cache.stale_if_error_s: -1 must be a whole number in 0…2147483648"])
        #expect(
            messages(["stale_while_revalidate_s": 2_147_483_649]) == [
                "cache.stale_while_revalidate_s: 2147483649 must be a whole number in 0…2147483648"
            ])
        #expect(
            messages(["key": ["include_region": "yes"]]) == [
                "cache.key.include_region: expected true or false, found a string"
            ])
        #expect(
            messages(["key": ["query": "some"]]) == [
                #"cache.key.query: "some" is not a query policy; allowed: "all", "none" or an array of names"#
            ])
        #expect(
            messages(["key": ["query": []]]) == [
                #"cache.key.query: needs at least one parameter name ("none" drops the query)"#
            ])
        #expect(messages(["key": ["query": ["id", ""]]]) == ["cache.key.query[1]: must not be empty"])
        #expect(
            messages(["key": ["query": ["a=b"]]]) == [
                ##"cache.key.query[0]: "a=b" is not a parameter name (no spaces, controls, "&", "=" or "#")"##
            ])
        #expect(
            messages(["key": ["query": 1]]) == [
                #"cache.key.query: expected "all", "none" or an array of names, found a number"#
            ])
        #expect(
            messages(["key": ["regoin": true]]) == [
                #"cache.key.regoin: unknown key; allowed here: include_region, query"#
            ])
        #expect(messages(["memory_md": 1]) == [#"cache.memory_md: unknown key (did you mean "memory_mb"?)"#])
        #expect(messages("on") == ["cache: expected an object, true, false or null, found a string"])
    }

    @Test func trueIsEveryDefaultAndFalseIsOff() throws {
        var object = ConfigLoaderTests.valid()
        object["cache"] = true
        #expect(try ConfigLoaderTests.parse(object).cache == CacheSettings())
        object["cache"] = false
        #expect(try ConfigLoaderTests.parse(object).cache == nil)
    }

    @Test func routeAndServiceOverridesAreRead() throws {
        let config = try Self.config { object in
            Self.set(
                &object, top: ["stale_if_error_s": 60], web: false,
                api: ["max_object_kb": 16, "key": ["query": ["b", "a"]]],
                site: true)
        }
        let routes = try #require(config.routes)
        #expect(routes.services.first { $0.name == "web" }?.cache == .off)
        #expect(routes.services.first { $0.name == "api-v2" }?.cache == nil)
        #expect(routes.routes[0].cache == .on(CacheSettingsOverride(maxObjectKB: 16, query: .allow(["a", "b"]))))
        #expect(routes.routes[1].cache == .inherit)
    }

    @Test func precedenceIsRouteOverServiceOverTopLevel() throws {
        let top = CacheSettings(staleIfErrorSeconds: 60)
        let config = try Self.config { object in
            Self.set(&object, top: ["stale_if_error_s": 60], web: ["stale_if_error_s": 5, "max_object_kb": 100])
        }
        // No route (without routes, or no match): the top level.
        #expect(config.cacheSettings(route: nil, service: nil) == top)
        // A route without cache, a service without cache: the top level.
        #expect(config.cacheSettings(route: 0, service: "api-v2") == top)
        // The service's keys over the top level's.
        let web = CacheSettings(maxObjectKB: 100, staleIfErrorSeconds: 5)
        #expect(config.cacheSettings(route: 1, service: "web") == web)

        // A route's keys over the service's; a route's false over the service's keys.
        let overridden = try Self.config { object in
            Self.set(
                &object, top: ["stale_if_error_s": 60], web: ["stale_if_error_s": 5, "max_object_kb": 100],
                api: false, site: ["stale_if_error_s": 7])
        }
        #expect(
            overridden.cacheSettings(route: 1, service: "web")
                == CacheSettings(maxObjectKB: 100, staleIfErrorSeconds: 7))
        #expect(overridden.cacheSettings(route: 0, service: "api-v2") == nil)

        // A service's false: off, unless the route turns it back on (with the top level's settings).
        let off = try Self.config { object in Self.set(&object, top: ["stale_if_error_s": 60], web: false) }
        #expect(off.cacheSettings(route: 1, service: "web") == nil)
        let back = try Self.config { object in
            Self.set(&object, top: ["stale_if_error_s": 60], web: false, site: true)
        }
        #expect(back.cacheSettings(route: 1, service: "web") == top)
        #expect(back.cachePlan.settings(route: 1, backend: 0) == top)
        #expect(off.cachePlan.settings(route: 1, backend: 0) == nil)
        #expect(off.cachePlan.settings(route: nil, backend: 0) == top)
        #expect(off.cachePlan.isEverOn)
    }

    @Test func resolveFollowsTheLevels() {
        let top = CacheSettings(maxObjectKB: 10)
        let keys = CacheSettingsOverride(staleWhileRevalidateSeconds: 9)
        #expect(CacheSettings.resolve(top: nil, service: .inherit, route: .inherit) == nil)
        #expect(CacheSettings.resolve(top: top, service: nil, route: nil) == top)
        #expect(CacheSettings.resolve(top: top, service: .off, route: nil) == nil)
        #expect(CacheSettings.resolve(top: top, service: .on(keys), route: .off) == nil)
        #expect(
            CacheSettings.resolve(top: top, service: .on(keys), route: .inherit)
                == CacheSettings(maxObjectKB: 10, staleWhileRevalidateSeconds: 9))
        #expect(
            CacheSettings.resolve(top: top, service: .on(keys), route: .on(CacheSettingsOverride(maxObjectKB: 3)))
                == CacheSettings(maxObjectKB: 3, staleWhileRevalidateSeconds: 9))
    }

    @Test func overrideErrorsNameTheKeyAndTheReason() {
        #expect(
            Self.messages(top: [String: Any](), web: ["memory_mb": 10]) == [
                "services.web.cache.memory_mb: is global: set it in the top-level cache (one memory budget for every route and service)"
            ])
        #expect(
            Self.messages(top: [String: Any](), site: ["max_object_kb": -1]) == [
                "routes[1].cache.max_object_kb: -1 must be a whole number in 1…1073741824"
            ])
        #expect(
            Self.messages(top: ["memory_mb": 1], site: ["max_object_kb": 2048]) == [
                "routes[1].cache.max_object_kb: 2048 KiB is more than the cache holds (memory_mb 1 = 1024 KiB)"
            ])
        #expect(
            Self.messages(top: [String: Any](), api: ["key": ["query": "everything"]]) == [
                #"routes[0].cache.key.query: "everything" is not a query policy; allowed: "all", "none" or an array of names"#
            ])
        #expect(
            Self.messages(top: [String: Any](), web: ["stale": 1]) == [
                "services.web.cache.stale: unknown key; allowed here: max_object_kb, stale_if_error_s, stale_while_revalidate_s, key"
            ])
        #expect(
            Self.messages(top: [String: Any](), api: "yes") == [
                "routes[0].cache: expected an object, true, false or null, found a string"
            ])
    }

    @Test func anOverrideWithoutTheTopLevelIsAnError() {
        let reason = "turns on a cache that is off: there is no top-level cache (its memory_mb is global)"
        #expect(Self.messages(top: nil, web: true) == ["services.web.cache: " + reason])
        #expect(Self.messages(top: nil, api: ["stale_if_error_s": 1]) == ["routes[0].cache: " + reason])
        #expect(Self.messages(top: false, site: true) == ["routes[1].cache: " + reason])
        // false says what is already so.
        #expect(Self.messages(top: nil, web: false, api: false) == ["<no error>"])
        // An invalid top level is reported once, not again at each override.
        #expect(
            Self.messages(top: ["memory_mb": 0], web: true) == [
                "cache.memory_mb: 0 must be a whole number in 1…1048576"
            ])
    }

    @Test func routesParsedAloneKeepTheirOverrides() throws {
        let routes = try RoutesConfig.parse(
            Data(
                #"""
                {"services": {"web": {"upstreams": {"us-east": ["127.0.0.1:9001"]}, "mode": "proxy", "cache": false}},
                 "routes": [{"name": "site", "service": "web", "cache": {"key": {"include_region": true}}}]}
                """#.utf8), regionNames: ["us-east"])
        #expect(routes.services[0].cache == .off)
        #expect(routes.routes[0].cache == .on(CacheSettingsOverride(includeRegion: true)))
    }
}
