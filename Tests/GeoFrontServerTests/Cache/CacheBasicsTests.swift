import Foundation
import TestSupport
import Testing

/// Storing and hits (RFC 9111 §3, §4.2, §5.1; RFC 9211).
@Suite struct CacheBasicsTests {
    @Test func aCacheableResponseIsStoredAndTheNextRequestIsAHit() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/a", .init(headers: [("Cache-Control", "max-age=60")], body: "alpha"))
        let first = try await rig.get("/a")
        #expect(first.status == 200)
        #expect(first.text == "alpha")
        #expect(first.cacheStatus == "GeoFront; fwd=uri-miss; fwd-status=200; stored")
        let second = try await rig.get("/a")
        #expect(second.status == 200)
        #expect(second.text == "alpha")
        #expect(second.cacheStatus.hasPrefix("GeoFront; hit; ttl="))
        #expect(second.header("age") != nil)
        #expect(rig.origin.count("/a") == 1)
        try await rig.stop()
    }
}
