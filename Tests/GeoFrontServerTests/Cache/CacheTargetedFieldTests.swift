import Foundation
import TestSupport
import Testing

/// `CDN-Cache-Control` (RFC 9213 §2.1) decides for this cache instead of `Cache-Control` and
/// `Expires` when it is a valid, non-empty Structured Field Dictionary; otherwise `Cache-Control`
/// does. Clients still get the origin's `Cache-Control`. Time is moved with the cache's clock.
@Suite struct CacheTargetedFieldTests {
    @Test func rfc9213Section2_1_theTargetedFieldWinsOverCacheControlAndExpires() async throws {
        let rig = try await CacheRig()
        let later = HTTPDateText.format(Int(Date().timeIntervalSince1970) + 10_000)
        // A shorter CDN lifetime than Cache-Control's, and a longer one.
        rig.origin.set(
            "/short", .init(headers: [("Cache-Control", "max-age=3600"), ("CDN-Cache-Control", "max-age=1")]))
        rig.origin.set(
            "/long", .init(headers: [("Cache-Control", "max-age=1"), ("CDN-Cache-Control", "max-age=3600")]))
        // Stored for the CDN although Cache-Control says no-store; not stored although it is fresh.
        rig.origin.set(
            "/cdn-fresh", .init(headers: [("Cache-Control", "no-store"), ("CDN-Cache-Control", "max-age=100")]))
        rig.origin.set(
            "/cdn-no-store",
            .init(headers: [("Cache-Control", "max-age=100"), ("CDN-Cache-Control", "no-store"), ("Expires", later)]))
        rig.origin.set(
            "/cdn-private",
            .init(headers: [("Cache-Control", "max-age=100"), ("CDN-Cache-Control", "private"), ("Expires", later)]))
        // max-age=0 with a future Expires: Expires is not read.
        rig.origin.set("/cdn-zero", .init(headers: [("CDN-Cache-Control", "max-age=0"), ("Expires", later)]))
        for path in ["/short", "/long", "/cdn-fresh", "/cdn-no-store", "/cdn-private", "/cdn-zero"] {
            let first = try await rig.get(path)
            #expect(first.status == 200, "\(path)")
        }
        rig.advance(5)
        #expect(try await rig.get("/short").cacheStatus.contains("fwd=stale"))
        let long = try await rig.get("/long")
        #expect(long.cacheStatus.contains("hit"))
        // Downstream, the origin's Cache-Control and the targeted field are passed on as they came.
        #expect(long.header("cache-control") == "max-age=1")
        #expect(long.header("cdn-cache-control") == "max-age=3600")
        #expect(try await rig.get("/cdn-fresh").cacheStatus.contains("hit"))
        #expect(!(try await rig.get("/cdn-no-store").cacheStatus.contains("hit")))
        #expect(!(try await rig.get("/cdn-private").cacheStatus.contains("hit")))
        #expect(!(try await rig.get("/cdn-zero").cacheStatus.contains("hit")))
        #expect(rig.origin.count("/long") == 1)
        #expect(rig.origin.count("/cdn-no-store") == 2)
        try await rig.stop()
    }

    @Test func rfc9213Section2_1_anInvalidTargetedFieldIsIgnoredWhole() async throws {
        let rig = try await CacheRig()
        // Not a dictionary (an unknown character; a key in capitals): Cache-Control's no-store holds.
        rig.origin.set(
            "/junk", .init(headers: [("Cache-Control", "no-store"), ("CDN-Cache-Control", "max-age=100, &&&")]))
        rig.origin.set("/caps", .init(headers: [("Cache-Control", "no-store"), ("CDN-Cache-Control", "MaX-aGe=100")]))
        // A valid dictionary whose max-age is a String: the directive is ignored, the field is not.
        rig.origin.set(
            "/string", .init(headers: [("Cache-Control", "max-age=100"), ("CDN-Cache-Control", "max-age=\"100\"")]))
        // An extension directive beside max-age does not spoil it.
        rig.origin.set("/ext", .init(headers: [("CDN-Cache-Control", "foobar, max-age=100")]))
        for path in ["/junk", "/caps", "/string", "/ext"] { _ = try await rig.get(path) }
        #expect(!(try await rig.get("/junk").cacheStatus.contains("hit")))
        #expect(!(try await rig.get("/caps").cacheStatus.contains("hit")))
        #expect(!(try await rig.get("/string").cacheStatus.contains("hit")))
        #expect(try await rig.get("/ext").cacheStatus.contains("hit"))
        try await rig.stop()
    }
}
