import Testing

@testable import GeoFrontCore

/// RFC 9211 `Cache-Status` values and the purge tags of a response.
@Suite struct CacheStatusTests {
    /// RFC 9211 §2: the cache's name, then the parameters.
    @Test func fieldValuesInTheRFCsOrder() {
        #expect(CacheStatus(hit: true, ttl: 42).fieldValue == "GeoFront; hit; ttl=42")
        #expect(
            CacheStatus(forward: .uriMiss, forwardStatus: 200, stored: true).fieldValue
                == "GeoFront; fwd=uri-miss; fwd-status=200; stored")
        #expect(
            CacheStatus(forward: .stale, forwardStatus: 304, ttl: -3).fieldValue
                == "GeoFront; fwd=stale; fwd-status=304; ttl=-3")
        #expect(CacheStatus(forward: .uriMiss, collapsed: true).fieldValue == "GeoFront; fwd=uri-miss; collapsed")
        #expect(CacheStatus(forward: .bypass).fieldValue == "GeoFront; fwd=bypass")
        #expect(
            CacheStatus(forward: .varyMiss, detail: "private").fieldValue == "GeoFront; fwd=vary-miss; detail=private")
        // A detail that is not a token is left out rather than break the field.
        #expect(CacheStatus(forward: .method, detail: "not a token").fieldValue == "GeoFront; fwd=method")
    }

    /// RFC 8941 §3.3.4: a token's characters are tchar, `:` and `/`, nothing else of the 256 bytes.
    @Test func detailTokenBytesAreExactlyRFC8941s() {
        for value in 0...255 {
            let byte = UInt8(value)
            let expected =
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "!#$%&'*+-.^_`|~:/".utf8.contains(byte)
            #expect(CacheStatus.isTokenByte(byte) == expected, "byte \(value)")
        }
    }

    @Test func tagsFromSurrogateKeyAndCacheTag() {
        let fields: [(name: String, value: String)] = [
            ("Content-Type", "text/html"), ("Surrogate-Key", "product-42  category-7 product-42"),
            ("cache-tag", " home, product-42 ,sale"), ("Surrogate-Key", "\tlast "),
        ]
        #expect(SurrogateKeys.tags(in: fields) == ["product-42", "category-7", "home", "sale", "last"])
        #expect(SurrogateKeys.tags(in: [("X-Other", "a b")]) == [])
        #expect(SurrogateKeys.isTagField("surrogate-key") && SurrogateKeys.isTagField("cache-tag"))
        #expect(!SurrogateKeys.isTagField("content-type"))
    }
}
