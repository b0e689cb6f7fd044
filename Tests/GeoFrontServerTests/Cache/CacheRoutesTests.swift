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

    /// Two services behind one URL (a canary, or a header-matched route) never share a stored
    /// response: the backend service is part of the key.
    @Test func eachBackendServiceHasItsOwnStoredResponses() async throws {
        let stable = try CacheOrigin()
        let canary = try CacheOrigin()
        let rig = try await CacheRig(extra: [
            "services": [
                "stable": ["upstreams": ["local": [stable.address]], "mode": "proxy"],
                "canary": ["upstreams": ["local": [canary.address]], "mode": "proxy"],
            ],
            "routes": [
                ["name": "beta", "match": ["headers": ["X-Beta": "1"]], "service": "canary"],
                ["name": "site", "service": "stable"],
            ],
            "default_route": "site",
        ])
        stable.set("/page", .init(headers: [("Cache-Control", "max-age=600")], body: "stable"))
        canary.set("/page", .init(headers: [("Cache-Control", "max-age=600")], body: "canary"))
        #expect(try await rig.get("/page").text == "stable")
        #expect(try await rig.get("/page", [("X-Beta", "1")]).text == "canary")
        let stableHit = try await rig.get("/page")
        let canaryHit = try await rig.get("/page", [("X-Beta", "1")])
        #expect(stableHit.text == "stable" && stableHit.cacheStatus.contains("hit"))
        #expect(canaryHit.text == "canary" && canaryHit.cacheStatus.contains("hit"))
        #expect(stable.count("/page") == 1 && canary.count("/page") == 1)
        try await rig.stop()
        stable.shutdown()
        canary.shutdown()
    }

    /// A route's `response_headers` apply to every answer of the cached path: the one that
    /// fetched, the collapsed ones, and hits.
    @Test func aRoutesResponseHeaderEditsApplyToCollapsedAnswersAndHits() async throws {
        let origin = try CacheOrigin()
        let rig = try await CacheRig(extra: [
            "services": ["web": ["upstreams": ["local": [origin.address]], "mode": "proxy"]],
            "routes": [
                [
                    "name": "site", "service": "web",
                    "response_headers": ["set": ["x-served-by": "geofront"], "remove": ["x-internal"]],
                ]
            ],
            "default_route": "site",
        ])
        origin.set("/e", .init(headers: [("Cache-Control", "max-age=600"), ("X-Internal", "secret")], body: "e"))
        origin.hold()
        let port = rig.port
        let answers = try await withThrowingTaskGroup(of: RawHTTPResponse.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await offThePool {
                        try RawHTTPClient(port: port, timeoutSeconds: 60).exchange(
                            "GET /e HTTP/1.1\r\nHost: cache.example\r\n\r\n")
                    }
                }
            }
            try await waitUntil("two requests wait on the first") {
                rig.server.caches.activeFollowers(of: "http://cache.example/e", scope: "web") == 2
            }
            origin.release()
            var all: [RawHTTPResponse] = []
            for try await answer in group { all.append(answer) }
            return all
        }
        let hit = try await rig.get("/e")
        for answer in answers + [hit] {
            #expect(answer.text == "e")
            #expect(answer.header("x-internal") == nil)
            #expect(answer.header("x-served-by") == "geofront")
        }
        #expect(answers.filter { $0.cacheStatus.contains("collapsed") }.count == 2)
        #expect(hit.cacheStatus.contains("hit"))
        try await rig.stop()
        origin.shutdown()
    }
}
