import Foundation
import TestSupport
import Testing

/// Serving stale when the origin fails (RFC 5861 §4 `stale-if-error`; RFC 9111 §4.2.4).
@Suite struct CacheStaleTests {
    @Test func staleIfErrorAnswersWhenEveryUpstreamIsStopped() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/s", .init(headers: [("Cache-Control", "max-age=1, stale-if-error=60")], body: "kept"))
        _ = try await rig.get("/s")
        rig.advance(5)
        try rig.origin.stop()
        let answer = try await rig.get("/s")
        #expect(answer.status == 200)
        #expect(answer.text == "kept")
        #expect(answer.cacheStatus.contains("fwd=stale"))
        #expect(answer.cacheStatus.contains("detail=stale-if-error"))
        try await rig.stop()
    }

    @Test func staleIfErrorCoversA5xxFromTheOrigin() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/x", .init(headers: [("Cache-Control", "max-age=1, stale-if-error=60")], body: "good"))
        _ = try await rig.get("/x")
        rig.advance(5)
        rig.origin.set("/x", .init(status: 503, headers: [], body: "down"))
        let answer = try await rig.get("/x")
        #expect(answer.status == 200)
        #expect(answer.text == "good")
        #expect(answer.cacheStatus.contains("fwd-status=503"))
        // Outside the window the error goes through.
        rig.advance(120)
        #expect(try await rig.get("/x").status == 503)
        try await rig.stop()
    }

    @Test func theConfiguredWindowAppliesWhenTheResponseGivesNone() async throws {
        let rig = try await CacheRig(cache: ["stale_if_error_s": 30])
        rig.origin.set("/d", .init(headers: [("Cache-Control", "max-age=1")], body: "default"))
        _ = try await rig.get("/d")
        rig.advance(10)
        try rig.origin.stop()
        #expect(try await rig.get("/d").text == "default")
        try await rig.stop()
    }

    @Test func mustRevalidateForbidsStaleOnError() async throws {
        let rig = try await CacheRig(cache: ["stale_if_error_s": 30])
        rig.origin.set("/m", .init(headers: [("Cache-Control", "max-age=1, must-revalidate")], body: "strict"))
        _ = try await rig.get("/m")
        rig.advance(10)
        try rig.origin.stop()
        #expect(try await rig.get("/m").status == 502)
        try await rig.stop()
    }
}
