import Foundation
import GeoFrontCore
import Testing

@testable import GeoFrontCLI

/// check-config's `cache` lines and warnings.
@Suite struct CacheLinesTests {
    static func config(mode: String, extra: String) throws -> GeoFrontConfig {
        let json = #"""
            {"listen": "127.0.0.1:8080", "geoip": {"database": "db.mmdb"}, "mode": "\#(mode)",
             "regions": [{"name": "us-east", "location": {"latitude": 39, "longitude": -77},
                          "redirect_url": "https://us.example.com", "upstreams": ["127.0.0.1:9001"]}]
             \#(extra)}
            """#
        return try ConfigLoader.parse(Data(json.utf8), baseDirectory: "/etc/geofront")
    }

    @Test func noLinesWhenTheCacheIsOff() throws {
        let config = try Self.config(mode: "proxy", extra: "")
        #expect(CheckConfigCommand.cacheLines(config).isEmpty)
        #expect(CheckConfigCommand.cacheWarnings(config).isEmpty)
    }

    @Test func theTopLevelAndEachOverride() throws {
        let config = try Self.config(
            mode: "proxy",
            extra: #"""
                , "cache": {"memory_mb": 64, "stale_if_error_s": 300, "key": {"include_region": true, "query": ["v", "id"]}},
                "services": {"web": {"upstreams": {"us-east": ["127.0.0.1:9001"]}, "cache": false},
                             "api": {"upstreams": {"us-east": ["127.0.0.1:9002"]}}},
                "routes": [{"name": "api", "service": "api", "match": {"path": {"prefix": "/api"}},
                            "cache": {"max_object_kb": 64, "key": {"query": "none"}}},
                           {"name": "site", "service": "web", "cache": true}]
                """#)
        #expect(
            CheckConfigCommand.cacheLines(config) == [
                "  cache           64 MiB, objects ≤ 8192 KiB, stale-if-error 300 s, stale-while-revalidate 0 s, "
                    + "key: URL (query id,v) + region",
                "    service web: off",
                "    route api: objects ≤ 64 KiB, key no query",
                "    route site: on",
            ])
        #expect(CheckConfigCommand.cacheWarnings(config).isEmpty)
    }

    @Test func warnsWhenNothingIsProxied() throws {
        let config = try Self.config(mode: "redirect", extra: #", "cache": {}"#)
        #expect(
            CheckConfigCommand.cacheWarnings(config) == [
                "warning: cache is set but nothing is proxied (mode redirect everywhere): only proxied responses are cached"
            ])
    }

    @Test func warnsWhenEveryRouteTurnsItOff() throws {
        let config = try Self.config(
            mode: "proxy",
            extra: #"""
                , "cache": {}, "services": {"web": {"upstreams": {"us-east": ["127.0.0.1:9001"]}, "cache": false}},
                "routes": [{"name": "site", "service": "web"}]
                """#)
        #expect(CheckConfigCommand.cacheWarnings(config) == ["warning: cache is set but every route turns it off"])
    }
}
