import Foundation
import TestSupport
import Testing

/// Freshness and the request's directives (RFC 9111 §4.2, §4.2.3, §5.1, §5.2.1, §5.2.2). Time is
/// moved with the cache's clock (``CacheRig/advance(_:)``), never waited for.
@Suite struct CacheFreshnessTests {
    @Test func rfc9111Section4_2_1_sMaxAgeWinsOverMaxAgeWhichWinsOverExpires() async throws {
        let rig = try await CacheRig()
        let later = HTTPDateText.format(Int(Date().timeIntervalSince1970) + 10_000)
        rig.origin.set("/s", .init(headers: [("Cache-Control", "max-age=1000, s-maxage=10"), ("Expires", later)]))
        rig.origin.set("/m", .init(headers: [("Cache-Control", "max-age=10"), ("Expires", later)]))
        rig.origin.set("/e", .init(headers: [("Expires", later)]))
        for path in ["/s", "/m", "/e"] { _ = try await rig.get(path) }
        rig.advance(20)
        #expect(try await rig.get("/s").cacheStatus.contains("fwd=stale"))
        #expect(try await rig.get("/m").cacheStatus.contains("fwd=stale"))
        #expect(try await rig.get("/e").cacheStatus.contains("hit"))
        try await rig.stop()
    }

    @Test func rfc9111Section5_3_anExpiresInThePastIsStaleAtOnce() async throws {
        let rig = try await CacheRig()
        let past = HTTPDateText.format(Int(Date().timeIntervalSince1970) - 60)
        rig.origin.set("/past", .init(headers: [("Expires", past), ("ETag", "\"p\"")], honourValidators: false))
        _ = try await rig.get("/past")
        #expect(try await rig.get("/past").cacheStatus.contains("fwd=stale"))
        #expect(rig.origin.count("/past") == 2)
        try await rig.stop()
    }

    @Test func rfc9111Section4_2_3_ageCountsTheUpstreamsAgeAndTimeInTheCache() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/age", .init(headers: [("Cache-Control", "max-age=60"), ("Age", "50")]))
        _ = try await rig.get("/age")
        let hit = try await rig.get("/age")
        #expect(Int(hit.header("age") ?? "") ?? 0 >= 50)
        rig.advance(5)
        let later = try await rig.get("/age")
        #expect(Int(later.header("age") ?? "") ?? 0 >= 55)
        rig.advance(10)
        #expect(try await rig.get("/age").cacheStatus.contains("fwd=stale"))
        try await rig.stop()
    }

    /// RFC 9111 §5.1 with §4.2.1: `Age: 7200, 0` on one line is read as its first member, as two
    /// lines would be (the public cache tests' `age-parse-suffix` and `age-parse-prefix`).
    @Test func rfc9111Section5_1_anAgeListOnOneLineCountsAsItsFirstMember() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/old-first", .init(headers: [("Cache-Control", "max-age=3600"), ("Age", "7200, 0")]))
        rig.origin.set("/young-first", .init(headers: [("Cache-Control", "max-age=3600"), ("Age", "0, 7200")]))
        _ = try await rig.get("/old-first")
        _ = try await rig.get("/young-first")
        #expect(!(try await rig.get("/old-first").cacheStatus.contains("hit")))
        #expect(try await rig.get("/young-first").cacheStatus.contains("hit"))
        try await rig.stop()
    }

    @Test func rfc9111Section5_2_1_theRequestsDirectivesAreHonoured() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/r", .init(headers: [("Cache-Control", "max-age=100")]))
        _ = try await rig.get("/r")
        // no-cache (§5.2.1.4) and max-age=0 (§5.2.1.1) go to the origin.
        #expect(try await rig.get("/r", [("Cache-Control", "no-cache")]).cacheStatus.contains("fwd=request"))
        #expect(try await rig.get("/r", [("Pragma", "no-cache")]).cacheStatus.contains("fwd=request"))
        #expect(try await rig.get("/r", [("Cache-Control", "max-age=0")]).cacheStatus.contains("fwd=request"))
        // min-fresh (§5.2.1.3): more freshness than is left.
        #expect(try await rig.get("/r", [("Cache-Control", "min-fresh=500")]).cacheStatus.contains("fwd=request"))
        #expect(try await rig.get("/r", [("Cache-Control", "min-fresh=10")]).cacheStatus.contains("hit"))
        // max-stale (§5.2.1.2): a stale response is acceptable.
        rig.advance(150)
        let stale = try await rig.get("/r", [("Cache-Control", "max-stale=1000")])
        #expect(stale.status == 200)
        #expect(stale.cacheStatus.contains("hit"))
        #expect(try await rig.get("/r", [("Cache-Control", "max-stale=10")]).cacheStatus.contains("fwd=stale"))
        try await rig.stop()
    }

    @Test func rfc9111Section5_2_1_7_onlyIfCachedWithoutAStoredResponseIs504() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/o", .init(headers: [("Cache-Control", "max-age=100")]))
        let miss = try await rig.get("/o", [("Cache-Control", "only-if-cached")])
        #expect(miss.status == 504)
        #expect(rig.origin.count("/o") == 0)
        _ = try await rig.get("/o")
        #expect(try await rig.get("/o", [("Cache-Control", "only-if-cached")]).status == 200)
        try await rig.stop()
    }

    @Test func rfc9111Section4_2_4_mustRevalidateForbidsServingStale() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/mr", .init(headers: [("Cache-Control", "max-age=10, must-revalidate")]))
        _ = try await rig.get("/mr")
        rig.advance(20)
        let answer = try await rig.get("/mr", [("Cache-Control", "max-stale=1000")])
        #expect(answer.cacheStatus.contains("fwd=stale"))
        #expect(rig.origin.count("/mr") == 2)
        try await rig.stop()
    }
}
