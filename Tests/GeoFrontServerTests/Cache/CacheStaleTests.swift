import Foundation
import TestSupport
import Testing

/// Serving stale when the origin fails (RFC 5861 §4 `stale-if-error`; RFC 9111 §4.2.4).
@Suite struct CacheStaleTests {
    @Test func staleIfErrorAnswersWhenEveryUpstreamIsStopped() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/s", .init(headers: [("Cache-Control", "max-age=1, stale-if-error=600")], body: "kept"))
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
        rig.origin.set("/x", .init(headers: [("Cache-Control", "max-age=1, stale-if-error=600")], body: "good"))
        _ = try await rig.get("/x")
        rig.advance(5)
        rig.origin.set("/x", .init(status: 503, headers: [], body: "down"))
        let answer = try await rig.get("/x")
        #expect(answer.status == 200)
        #expect(answer.text == "good")
        #expect(answer.cacheStatus.contains("fwd-status=503"))
        // Outside the window the error goes through.
        rig.advance(1200)
        #expect(try await rig.get("/x").status == 503)
        try await rig.stop()
    }

    @Test func theConfiguredWindowAppliesWhenTheResponseGivesNone() async throws {
        let rig = try await CacheRig(cache: ["stale_if_error_s": 300])
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

/// `stale-while-revalidate` (RFC 5861 §3): a stale response is answered at once and refreshed in
/// the background, once per URL.
@Suite struct CacheStaleWhileRevalidateTests {
    @Test func aStaleResponseIsAnsweredAtOnceAndRefreshedInTheBackground() async throws {
        let rig = try await CacheRig()
        rig.origin.set(
            "/swr",
            .init(
                headers: [("Cache-Control", "max-age=10, stale-while-revalidate=600"), ("ETag", "\"1\"")],
                body: "first"))
        _ = try await rig.get("/swr")
        rig.advance(20)
        // The origin now holds its answers: the stale answer cannot have waited for it.
        rig.origin.hold()
        rig.origin.set(
            "/swr", .init(headers: [("Cache-Control", "max-age=100"), ("ETag", "\"2\"")], body: "second"))
        let stale = try await rig.get("/swr")
        #expect(stale.status == 200)
        #expect(stale.text == "first")
        #expect(stale.cacheStatus.contains("detail=stale-while-revalidate"))
        // One refresh went upstream, whatever the number of stale answers meanwhile.
        try await waitUntil("the refresh reached the origin") { rig.origin.count("/swr") == 2 }
        _ = try await rig.get("/swr")
        _ = try await rig.get("/swr")
        #expect(rig.origin.count("/swr") == 2)
        #expect(rig.origin.requests.last?.header("if-none-match") == "\"1\"")
        rig.origin.release()
        try await waitUntil("the refreshed response is stored") { try await rig.get("/swr").text == "second" }
        let fresh = try await rig.get("/swr")
        #expect(fresh.cacheStatus.contains("hit"))
        #expect(rig.origin.count("/swr") == 2)
        try await rig.stop()
    }

    @Test func theConfiguredWindowAppliesAndA304RefreshesTheStoredResponse() async throws {
        let rig = try await CacheRig(cache: ["stale_while_revalidate_s": 300])
        rig.origin.set("/w", .init(headers: [("Cache-Control", "max-age=10"), ("ETag", "\"w\"")], body: "same"))
        _ = try await rig.get("/w")
        rig.advance(15)
        let stale = try await rig.get("/w")
        #expect(stale.text == "same")
        #expect(stale.cacheStatus.contains("stale-while-revalidate"))
        // The origin answers 304 (same ETag): the stored response is fresh again.
        try await waitUntil("the refreshed response is fresh") {
            let status = try await rig.get("/w").cacheStatus
            return status.hasPrefix("GeoFront; hit; ttl=") && !status.contains("stale")
        }
        #expect(rig.origin.count("/w") == 2)
        try await rig.stop()
    }
}

/// When no region can take a request (every one down, `when_all_down: unavailable`), a stored
/// response still answers: fresh, or stale within `stale-if-error` (RFC 5861 §4).
@Suite struct CacheAllDownTests {
    private func drainEverything(_ rig: CacheRig) async throws {
        #expect(rig.server.healthMonitor.setDrained("local", true))
        let statuses = rig.server.healthMonitor.statuses()
        rig.server.publisher.update { $0.with(statuses: statuses) }
        for loop in rig.server.eventLoopGroup.makeIterator() { try await loop.submit {}.get() }
    }

    @Test func storedResponsesAnswerWhenEveryRegionIsDown() async throws {
        let rig = try await CacheRig(extra: ["when_all_down": "unavailable"])
        rig.origin.set("/fresh", .init(headers: [("Cache-Control", "max-age=100")], body: "fresh"))
        rig.origin.set("/sie", .init(headers: [("Cache-Control", "max-age=1, stale-if-error=600")], body: "old"))
        rig.origin.set("/gone", .init(headers: [("Cache-Control", "max-age=1")], body: "gone"))
        for path in ["/fresh", "/sie", "/gone"] { _ = try await rig.get(path) }
        rig.advance(10)
        try await drainEverything(rig)
        let fresh = try await rig.get("/fresh")
        #expect(fresh.status == 200)
        #expect(fresh.text == "fresh")
        let stale = try await rig.get("/sie")
        #expect(stale.status == 200)
        #expect(stale.cacheStatus.contains("detail=stale-if-error"))
        #expect(try await rig.get("/gone").status == 503)
        #expect(try await rig.get("/never-stored").status == 503)
        try await rig.stop()
    }
}
