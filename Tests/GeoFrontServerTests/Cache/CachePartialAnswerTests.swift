import Foundation
import TestSupport
import Testing

/// HEAD from a stored GET (RFC 9110 §9.3.2, RFC 9111 §4) and byte ranges of a stored response
/// (RFC 9110 §14).
@Suite struct CachePartialAnswerTests {
    @Test func headIsAnsweredFromAStoredGet() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/hd", .init(headers: [("Cache-Control", "max-age=100")], body: "0123456789"))
        _ = try await rig.get("/hd")
        let head = try await rig.request("/hd", method: "HEAD")
        #expect(head.status == 200)
        #expect(head.header("content-length") == "10")
        #expect(head.cacheStatus.contains("hit"))
        #expect(rig.origin.count("/hd") == 1)
        // The connection stays usable: no body followed the head.
        try await rig.stop()
    }

    @Test func rfc9110Section14_rangesOfAStoredResponseAre206Or416() async throws {
        let rig = try await CacheRig()
        rig.origin.set(
            "/rg", .init(headers: [("Cache-Control", "max-age=100"), ("ETag", "\"r\"")], body: "0123456789"))
        _ = try await rig.get("/rg")
        let part = try await rig.get("/rg", [("Range", "bytes=2-5")])
        #expect(part.status == 206)
        #expect(part.text == "2345")
        #expect(part.header("content-range") == "bytes 2-5/10")
        let suffix = try await rig.get("/rg", [("Range", "bytes=-3")])
        #expect(suffix.text == "789")
        let open = try await rig.get("/rg", [("Range", "bytes=7-")])
        #expect(open.text == "789")
        let beyond = try await rig.get("/rg", [("Range", "bytes=50-60")])
        #expect(beyond.status == 416)
        #expect(beyond.header("content-range") == "bytes */10")
        // §13.1.5: If-Range with another validator gets the whole response.
        let whole = try await rig.get("/rg", [("Range", "bytes=2-5"), ("If-Range", "\"other\"")])
        #expect(whole.status == 200)
        #expect(whole.text == "0123456789")
        #expect(rig.origin.count("/rg") == 1)
        try await rig.stop()
    }
}
