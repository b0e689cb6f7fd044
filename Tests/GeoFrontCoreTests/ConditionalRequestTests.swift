import GeoFrontCore
import Testing

/// A client's conditional GET/HEAD answered from cache (RFC 9110 §13.1.2, §13.1.3, §13.2.2,
/// §15.4.5; RFC 9111 §4.3.2).
@Suite struct ConditionalRequestTests {
    static let lm = CacheRulesTests.example
    static let lmText = "Sun, 06 Nov 1994 08:49:37 GMT"
    static let later = "Sun, 06 Nov 1994 08:49:38 GMT"
    static let earlier = "Sun, 06 Nov 1994 08:49:36 GMT"

    static func notModified(
        inm: String? = nil, ims: String? = nil, etag: String? = nil, lastModified: Int? = nil, date: Int? = nil,
        receivedAt: Int? = nil
    ) -> Bool {
        ConditionalRequest.isNotModified(
            ifNoneMatch: inm, ifModifiedSince: ims, etag: etag, lastModified: lastModified, date: date,
            receivedAt: receivedAt)
    }

    /// RFC 9110 §13.1.2: If-None-Match uses the weak comparison over a list of tags.
    @Test func rfc9110Section13_1_2IfNoneMatchList() {
        #expect(Self.notModified(inm: #""a""#, etag: #""a""#))
        #expect(Self.notModified(inm: #"W/"a""#, etag: #""a""#))
        #expect(Self.notModified(inm: #""a""#, etag: #"W/"a""#))
        #expect(Self.notModified(inm: #""x", "y", W/"a""#, etag: #"W/"a""#))
        #expect(!Self.notModified(inm: #""x", "y""#, etag: #""a""#))
        #expect(!Self.notModified(inm: #""a""#, etag: nil))
        #expect(!Self.notModified(inm: #"a"#, etag: #""a""#))
    }

    /// RFC 9110 §13.1.2: `*` is false when there is a current representation (the stored one).
    @Test func rfc9110Section13_1_2Star() {
        #expect(Self.notModified(inm: "*", etag: nil))
        #expect(Self.notModified(inm: " * ", etag: #""a""#))
    }

    /// RFC 9110 §13.1.3 / §13.2.2 step 4: If-Modified-Since is ignored when If-None-Match is present.
    @Test func rfc9110Section13_1_3IgnoredWithIfNoneMatch() {
        #expect(!Self.notModified(inm: #""x""#, ims: Self.later, etag: #""a""#, lastModified: Self.lm))
    }

    /// RFC 9110 §13.1.3: not modified when Last-Modified is earlier than or equal to the date.
    @Test func rfc9110Section13_1_3IfModifiedSince() {
        #expect(Self.notModified(ims: Self.lmText, lastModified: Self.lm))
        #expect(Self.notModified(ims: Self.later, lastModified: Self.lm))
        #expect(!Self.notModified(ims: Self.earlier, lastModified: Self.lm))
        // Any of the three HTTP-date formats.
        #expect(Self.notModified(ims: "Sunday, 06-Nov-94 08:49:37 GMT", lastModified: Self.lm))
        #expect(Self.notModified(ims: "Sun Nov  6 08:49:37 1994", lastModified: Self.lm))
    }

    /// RFC 9110 §13.1.3: an invalid date, or more than one member, is ignored (200).
    @Test func rfc9110Section13_1_3InvalidDateIgnored() {
        #expect(!Self.notModified(ims: "yesterday", lastModified: Self.lm))
        #expect(!Self.notModified(ims: Self.lmText + ", " + Self.lmText, lastModified: Self.lm))
    }

    /// RFC 9111 §4.3.2: without Last-Modified the stored Date is used, else the time it was received.
    @Test func rfc9111Section4_3_2DateFallback() {
        #expect(Self.notModified(ims: Self.lmText, date: Self.lm))
        #expect(!Self.notModified(ims: Self.earlier, date: Self.lm))
        #expect(Self.notModified(ims: Self.lmText, receivedAt: Self.lm - 5))
        #expect(!Self.notModified(ims: Self.lmText))
        // Last-Modified wins over Date.
        #expect(!Self.notModified(ims: Self.lmText, lastModified: Self.lm + 1, date: Self.lm - 100))
    }

    /// RFC 9110 §15.4.5: the fields a 304 carries.
    @Test func rfc9110Section15_4_5NotModifiedFields() {
        let stored: [(name: String, value: String)] = [
            ("Content-Type", "text/html"), ("ETag", #""a""#), ("Date", Self.lmText), ("Vary", "Accept"),
            ("cache-control", "max-age=60"), ("Expires", Self.later), ("Content-Location", "/a.html"),
            ("Content-Length", "10"), ("Last-Modified", Self.lmText), ("Set-Cookie", "a=b"),
        ]
        #expect(
            ConditionalRequest.notModifiedFields(stored).map(\.name) == [
                "ETag", "Date", "Vary", "cache-control", "Expires", "Content-Location",
            ])
        // Without an ETag, Last-Modified guides cache updates.
        let noETag = stored.filter { $0.name != "ETag" }
        #expect(ConditionalRequest.notModifiedFields(noETag).map(\.name).contains("Last-Modified"))
    }
}
