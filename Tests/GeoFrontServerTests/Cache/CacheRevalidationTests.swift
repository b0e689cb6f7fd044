import Foundation
import TestSupport
import Testing

/// Validation (RFC 9111 §4.3): the cache's own conditional requests and the client's, and
/// invalidation by unsafe methods (§4.4).
@Suite struct CacheRevalidationTests {
    @Test func rfc9111Section4_3_1_aStaleEntryIsRevalidatedWithItsETagAnd304UpdatesIt() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/e", .init(headers: [("Cache-Control", "max-age=10"), ("ETag", "\"v1\"")], body: "one"))
        _ = try await rig.get("/e")
        rig.advance(20)
        rig.origin.set(
            "/e",
            .init(headers: [("Cache-Control", "max-age=1000"), ("ETag", "\"v1\""), ("X-Fresh", "yes")], body: "one"))
        let revalidated = try await rig.get("/e")
        #expect(revalidated.status == 200)
        #expect(revalidated.text == "one")
        #expect(revalidated.cacheStatus.contains("fwd=stale; fwd-status=304"))
        #expect(revalidated.header("x-fresh") == "yes")  // §4.3.4: the 304's fields replace the stored ones
        let sent = rig.origin.requests.last!
        #expect(sent.header("if-none-match") == "\"v1\"")
        // The 304's max-age=100 now applies.
        rig.advance(50)
        #expect(try await rig.get("/e").cacheStatus.contains("hit"))
        #expect(rig.origin.count("/e") == 2)
        try await rig.stop()
    }

    @Test func rfc9111Section4_3_1_lastModifiedIsSentAsIfModifiedSince() async throws {
        let rig = try await CacheRig()
        let modified = HTTPDateText.format(Int(Date().timeIntervalSince1970) - 3600)
        rig.origin.set("/lm", .init(headers: [("Cache-Control", "max-age=10"), ("Last-Modified", modified)]))
        _ = try await rig.get("/lm")
        rig.advance(20)
        let answer = try await rig.get("/lm")
        #expect(answer.status == 200)
        #expect(answer.cacheStatus.contains("fwd-status=304"))
        #expect(rig.origin.requests.last!.header("if-modified-since") == modified)
        try await rig.stop()
    }

    @Test func aChangedResponseReplacesTheStaleOne() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/c", .init(headers: [("Cache-Control", "max-age=10"), ("ETag", "\"1\"")], body: "old"))
        _ = try await rig.get("/c")
        rig.advance(20)
        rig.origin.set("/c", .init(headers: [("Cache-Control", "max-age=100"), ("ETag", "\"2\"")], body: "new"))
        let answer = try await rig.get("/c")
        #expect(answer.text == "new")
        #expect(answer.cacheStatus.contains("fwd=stale; fwd-status=200; stored"))
        #expect(try await rig.get("/c").text == "new")
        try await rig.stop()
    }

    @Test func rfc9111Section4_3_2_aClientsConditionalRequestIsAnsweredFromAFreshEntry() async throws {
        let rig = try await CacheRig()
        let modified = HTTPDateText.format(Int(Date().timeIntervalSince1970) - 3600)
        rig.origin.set(
            "/k",
            .init(headers: [("Cache-Control", "max-age=100"), ("ETag", "W/\"k\""), ("Last-Modified", modified)]))
        _ = try await rig.get("/k")
        let matched = try await rig.get("/k", [("If-None-Match", "\"x\", \"k\"")])
        #expect(matched.status == 304)
        #expect(matched.body.isEmpty)
        #expect(matched.header("etag") == "W/\"k\"")
        #expect(try await rig.get("/k", [("If-None-Match", "\"other\"")]).status == 200)
        #expect(try await rig.get("/k", [("If-Modified-Since", modified)]).status == 304)
        let earlier = HTTPDateText.format(Int(Date().timeIntervalSince1970) - 7200)
        #expect(try await rig.get("/k", [("If-Modified-Since", earlier)]).status == 200)
        #expect(rig.origin.count("/k") == 1)
        try await rig.stop()
    }

    @Test func rfc9111Section4_4_unsafeMethodsInvalidateTheTargetAndSameOriginLocations() async throws {
        let rig = try await CacheRig()
        for path in ["/item", "/list", "/elsewhere"] {
            rig.origin.set(path, .init(headers: [("Cache-Control", "max-age=100")]))
            _ = try await rig.get(path)
        }
        rig.origin.set(
            "/item",
            .init(status: 200, headers: [("Cache-Control", "max-age=100"), ("Location", "/list")], body: "ok"))
        let post = try await rig.request("/item", method: "POST", body: "change")
        #expect(post.status == 200)
        #expect(try await rig.get("/item").cacheStatus.contains("fwd=uri-miss"))
        #expect(try await rig.get("/list").cacheStatus.contains("fwd=uri-miss"))
        #expect(try await rig.get("/elsewhere").cacheStatus.contains("hit"))
        // An error answer invalidates nothing.
        rig.origin.set("/elsewhere", .init(status: 500, headers: [], body: "no"))
        _ = try await rig.request("/elsewhere", method: "DELETE")
        rig.origin.set("/elsewhere", .init(headers: [("Cache-Control", "max-age=100")]))
        #expect(try await rig.get("/elsewhere").cacheStatus.contains("hit"))
        try await rig.stop()
    }
}
