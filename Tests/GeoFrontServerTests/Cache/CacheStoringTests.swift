import Foundation
import TestSupport
import Testing

/// What is stored and what is not (RFC 9111 §3, §3.1, §3.5, §4.1; RFC 9211 for `Cache-Status`).
/// Each test sends real requests through GeoFront to a ``CacheOrigin`` and counts what reached it.
@Suite struct CacheStoringTests {
    /// Asks twice; returns both answers and how many reached the origin.
    private func twice(
        _ rig: CacheRig, _ path: String, _ headers: [(String, String)] = []
    ) async throws -> (RawHTTPResponse, RawHTTPResponse, Int) {
        let first = try await rig.get(path, headers)
        let second = try await rig.get(path, headers)
        return (first, second, rig.origin.count(path))
    }

    @Test func rfc9111Section3_noStoreIsNeverStored() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/n", .init(headers: [("Cache-Control", "no-store, max-age=60")]))
        let (first, second, count) = try await twice(rig, "/n")
        #expect(count == 2)
        #expect(first.cacheStatus.contains("detail=response-no-store"))
        #expect(!second.cacheStatus.contains("hit"))
        try await rig.stop()
    }

    @Test func rfc9111Section5_2_2_7_privateIsNotStoredByASharedCache() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/p", .init(headers: [("Cache-Control", "private, max-age=60")]))
        let (first, _, count) = try await twice(rig, "/p")
        #expect(count == 2)
        #expect(first.cacheStatus.contains("detail=private"))
        try await rig.stop()
    }

    @Test func rfc9111Section3_5_authorizationIsStoredOnlyWhenTheResponseAllowsIt() async throws {
        let rig = try await CacheRig()
        let auth = [("Authorization", "Bearer secret")]
        rig.origin.set("/auth", .init(headers: [("Cache-Control", "max-age=60")]))
        let (first, _, count) = try await twice(rig, "/auth", auth)
        #expect(count == 2)
        #expect(first.cacheStatus.contains("detail=authorization"))
        for (path, directive) in [("/auth-public", "public, max-age=60"), ("/auth-s", "s-maxage=60")] {
            rig.origin.set(path, .init(headers: [("Cache-Control", directive)]))
            let (_, second, stored) = try await twice(rig, path, auth)
            #expect(stored == 1, "\(directive)")
            #expect(second.cacheStatus.contains("hit"))
        }
        try await rig.stop()
    }

    @Test func setCookieResponsesAreStoredOnlyWhenPublicAndTheCookieIsNotRepeated() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/c", .init(headers: [("Cache-Control", "max-age=60"), ("Set-Cookie", "id=1")]))
        let (first, _, count) = try await twice(rig, "/c")
        #expect(count == 2)
        #expect(first.cacheStatus.contains("detail=set-cookie"))
        rig.origin.set("/cp", .init(headers: [("Cache-Control", "public, max-age=60"), ("Set-Cookie", "id=2")]))
        let (leader, hit, stored) = try await twice(rig, "/cp")
        #expect(stored == 1)
        #expect(leader.header("set-cookie") == "id=2")  // the client that caused the fetch gets it
        #expect(hit.cacheStatus.contains("hit"))
        #expect(hit.header("set-cookie") == nil)  // nobody else does
        try await rig.stop()
    }

    @Test func rfc9111Section4_1_varyStarNeverMatches() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/v", .init(headers: [("Cache-Control", "max-age=60"), ("Vary", "*")]))
        let (first, _, count) = try await twice(rig, "/v")
        #expect(count == 2)
        #expect(first.cacheStatus.contains("detail=vary-star"))
        try await rig.stop()
    }

    @Test func rfc9111Section4_1_varyKeepsOneResponsePerFieldValue() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/lang", .init(headers: [("Cache-Control", "max-age=60"), ("Vary", "Accept-Language")]))
        let english = [("Accept-Language", "en")]
        let french = [("Accept-Language", "fr")]
        _ = try await rig.get("/lang", english)
        #expect(try await rig.get("/lang", english).cacheStatus.contains("hit"))
        let other = try await rig.get("/lang", french)
        #expect(other.cacheStatus.contains("fwd=vary-miss"))
        #expect(try await rig.get("/lang", french).cacheStatus.contains("hit"))
        #expect(try await rig.get("/lang", english).cacheStatus.contains("hit"))
        #expect(rig.origin.count("/lang") == 2)
        try await rig.stop()
    }

    @Test func rfc9111Section4_2_2_heuristicFreshnessIsATenthOfTheAgeCappedAtADay() async throws {
        let rig = try await CacheRig()
        let now = Int(Date().timeIntervalSince1970)
        rig.origin.set(
            "/h",
            .init(headers: [
                ("Date", HTTPDateText.format(now)), ("Last-Modified", HTTPDateText.format(now - 5 * 3600)),
            ]))
        rig.origin.set(
            "/old",
            .init(headers: [
                ("Date", HTTPDateText.format(now)), ("Last-Modified", HTTPDateText.format(now - 100 * 86_400)),
            ]))
        let (_, hit, count) = try await twice(rig, "/h")
        #expect(count == 1)
        let ttl = Int(hit.cacheStatus.components(separatedBy: "ttl=").last ?? "") ?? 0
        #expect((1700...1800).contains(ttl))  // 10 % of 5 hours, less the seconds this test took
        let (_, oldHit, _) = try await twice(rig, "/old")
        let capped = Int(oldHit.cacheStatus.components(separatedBy: "ttl=").last ?? "") ?? 0
        #expect((86_300...86_400).contains(capped))  // capped at one day
        // Without a validator or freshness information nothing is stored.
        rig.origin.set("/bare", .init(headers: []))
        let (bare, _, bareCount) = try await twice(rig, "/bare")
        #expect(bareCount == 2)
        #expect(bare.cacheStatus.contains("detail=no-freshness-or-validator"))
        try await rig.stop()
    }

    @Test func objectsAboveMaxObjectKBStreamThroughUncached() async throws {
        let rig = try await CacheRig(cache: ["max_object_kb": 1])
        let big = [UInt8](repeating: UInt8(ascii: "b"), count: 3000)
        rig.origin.set("/big", .init(headers: [("Cache-Control", "max-age=60")], bytes: big))
        rig.origin.set("/bigchunked", .init(headers: [("Cache-Control", "max-age=60")], bytes: big, chunked: true))
        let (first, second, count) = try await twice(rig, "/big")
        #expect(first.body == big && second.body == big)
        #expect(count == 2)
        #expect(first.cacheStatus.contains("detail=too-large"))
        let (chunkedFirst, chunkedSecond, chunkedCount) = try await twice(rig, "/bigchunked")
        #expect(chunkedFirst.body == big && chunkedSecond.body == big)
        #expect(chunkedCount == 2)
        try await rig.stop()
    }

    @Test func aNearlyFullStoreStoresANewURLAtItsSecondRequest() async throws {
        // Fifteen 64 KiB objects fill more than nine tenths of a 1 MiB store; a new URL is then
        // stored only when asked for again (the doorkeeper), and hit after that.
        let rig = try await CacheRig(cache: ["memory_mb": 1])
        let part = [UInt8](repeating: UInt8(ascii: "b"), count: 64 * 1024)
        for index in 0..<15 {
            rig.origin.set("/fill\(index)", .init(headers: [("Cache-Control", "max-age=60")], bytes: part))
            #expect(try await rig.get("/fill\(index)").cacheStatus.hasSuffix("stored"))
        }
        rig.origin.set("/new", .init(headers: [("Cache-Control", "max-age=60")], body: "new"))
        // Stored once each whole body is in, which may be just after the client has it.
        try await waitUntil("the store nine tenths full") { rig.server.caches.storedBytes > 15 * 64 * 1024 }
        let first = try await rig.get("/new")
        #expect(first.text == "new")
        #expect(first.cacheStatus == "GeoFront; fwd=uri-miss; fwd-status=200; detail=not-admitted")
        let second = try await rig.get("/new")
        #expect(second.text == "new")
        #expect(second.cacheStatus == "GeoFront; fwd=uri-miss; fwd-status=200; stored")
        let third = try await rig.get("/new")
        #expect(third.text == "new")
        #expect(third.cacheStatus.hasPrefix("GeoFront; hit"))
        #expect(rig.origin.count("/new") == 2)
        try await rig.stop()
    }

    @Test func aChunkedResponseIsStoredWholeAndAnsweredWithItsLength() async throws {
        let rig = try await CacheRig()
        let body = String(repeating: "0123456789", count: 500)
        rig.origin.set("/ch", .init(headers: [("Cache-Control", "max-age=60")], body: body, chunked: true))
        let (first, hit, count) = try await twice(rig, "/ch")
        #expect(count == 1)
        #expect(first.text == body)
        #expect(hit.text == body)
        #expect(hit.header("content-length") == "5000")
        #expect(hit.header("transfer-encoding") == nil)
        try await rig.stop()
    }

    @Test func otherMethodsAndNoStoreRequestsAreNotStored() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/m", .init(headers: [("Cache-Control", "max-age=60")]))
        let post = try await rig.request("/m", method: "POST", body: "x")
        #expect(post.cacheStatus.contains("fwd=method"))
        let noStore = try await rig.get("/m", [("Cache-Control", "no-store")])
        #expect(noStore.status == 200)
        #expect(!noStore.cacheStatus.contains("stored"))
        let get = try await rig.get("/m")
        #expect(get.cacheStatus.contains("stored"))
        #expect(rig.origin.count("/m") == 3)
        try await rig.stop()
    }

    @Test func purgeTagsAreStrippedFromEveryAnswer() async throws {
        let rig = try await CacheRig()
        rig.origin.set(
            "/t",
            .init(headers: [("Cache-Control", "max-age=60"), ("Surrogate-Key", "a b"), ("Cache-Tag", "c,d")]))
        let (first, hit, _) = try await twice(rig, "/t")
        for answer in [first, hit] {
            #expect(answer.header("surrogate-key") == nil)
            #expect(answer.header("cache-tag") == nil)
        }
        try await rig.stop()
    }
}

/// IMF-fixdate text for tests (RFC 9110 §5.6.7).
enum HTTPDateText {
    static func format(_ seconds: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
