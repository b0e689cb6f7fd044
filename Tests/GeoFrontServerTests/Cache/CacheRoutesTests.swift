import Foundation
import TestSupport
import Testing

/// A route or a service turns the cache off, or overrides its keys, for the requests it takes.
@Suite struct CacheRoutesTests {
    @Test func aRouteWithCacheFalseIsNeverCachedAndAnOverrideApplies() async throws {
        let origin = try CacheOrigin()
        let rig = try await CacheRig(
            cache: ["stale_if_error_s": 0],
            extra: [
                "services": [
                    "web": ["upstreams": ["local": [origin.address]], "mode": "proxy"],
                    "live": ["upstreams": ["local": [origin.address]], "mode": "proxy", "cache": false],
                ],
                "routes": [
                    ["name": "live", "match": ["path": ["prefix": "/live/"]], "service": "live"],
                    [
                        "name": "static", "match": ["path": ["prefix": "/static/"]], "service": "web",
                        "cache": ["stale_if_error_s": 600],
                    ],
                    ["name": "site", "service": "web"],
                ],
                "default_route": "site",
            ])
        for path in ["/live/a", "/static/a", "/page"] {
            origin.set(path, .init(headers: [("Cache-Control", "max-age=60")], body: path))
        }
        for path in ["/live/a", "/static/a", "/page"] {
            _ = try await rig.get(path)
            let second = try await rig.get(path)
            #expect(second.text == path)
        }
        #expect(origin.count("/live/a") == 2)  // the service turned it off
        #expect(try await rig.get("/live/a").header("cache-status") == nil)
        #expect(origin.count("/static/a") == 1)
        #expect(origin.count("/page") == 1)
        // The route's stale_if_error_s applies to its requests only (stale by a minute now).
        rig.advance(120)
        try origin.stop()
        let kept = try await rig.get("/static/a")
        #expect(kept.status == 200)
        #expect(kept.text == "/static/a")
        #expect(try await rig.get("/page").status == 502)
        try await rig.stop()
        origin.shutdown()
    }
}
