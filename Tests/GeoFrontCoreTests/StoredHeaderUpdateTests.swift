import GeoFrontCore
import Testing

/// Storing header fields (RFC 9111 §3.1), updating them from a 304 or HEAD response (§3.2) and which
/// stored response a 304 updates (§4.3.4).
@Suite struct StoredHeaderUpdateTests {
    typealias Fields = [(name: String, value: String)]

    static func names(_ fields: Fields) -> [String] { fields.map { "\($0.name): \($0.value)" } }

    /// RFC 9111 §3.1: hop-by-hop fields, those Connection names and the proxy's own are not stored.
    @Test func rfc9111Section3_1Storable() {
        let response: Fields = [
            ("Content-Type", "text/plain"), ("Connection", "close, X-Trace"), ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"), ("x-trace", "1"), ("Proxy-Authenticate", "Basic"),
            ("Upgrade", "h2c"), ("TE", "trailers"), ("Trailer", "X"), ("Proxy-Connection", "keep-alive"),
            ("ETag", #""a""#),
        ]
        #expect(Self.names(StoredHeaderUpdate.storable(response)) == ["Content-Type: text/plain", #"ETag: "a""#])
    }

    /// RFC 9111 §5.2.2.7: a shared cache does not store the fields a qualified private names.
    @Test func rfc9111Section5_2_2_7PrivateFieldsNotStored() {
        let response: Fields = [
            ("Cache-Control", #"max-age=60, private="Set-Cookie, X-User""#), ("set-cookie", "a=b"), ("X-User", "u"),
            ("X-Other", "o"),
        ]
        #expect(
            Self.names(StoredHeaderUpdate.storable(response)) == [
                #"Cache-Control: max-age=60, private="Set-Cookie, X-User""#, "X-Other: o",
            ])
    }

    /// RFC 9111 §3.2: each field of the 304 replaces the stored fields of that name; others stay.
    @Test func rfc9111Section3_2FieldsReplaced() {
        let stored: Fields = [
            ("Content-Type", "text/plain"), ("Cache-Control", "max-age=10"), ("Cache-Control", "public"),
            ("ETag", #""a""#), ("Date", "old"), ("Content-Length", "5"), ("X-Kept", "k"),
        ]
        let notModified: Fields = [
            ("cache-control", "max-age=60"), ("Date", "new"), ("X-New", "1"), ("X-New", "2"),
            ("Content-Length", "0"), ("Connection", "close"), ("Content-Range", "bytes */5"),
        ]
        #expect(
            Self.names(StoredHeaderUpdate.updated(stored: stored, with: notModified)) == [
                "Content-Type: text/plain", "cache-control: max-age=60", #"ETag: "a""#, "Date: new",
                "Content-Length: 5", "X-Kept: k", "X-New: 1", "X-New: 2",
            ])
    }

    /// RFC 9111 §3.2 / §3.1: fields the 304's Connection names are not added.
    @Test func rfc9111Section3_2ConnectionNamedFieldsSkipped() {
        let updated = StoredHeaderUpdate.updated(
            stored: [("A", "1")], with: [("Connection", "x-hop"), ("X-Hop", "1"), ("A", "2")])
        #expect(Self.names(updated) == ["A: 2"])
    }

    static let lm = CacheRulesTests.example

    /// RFC 9111 §4.3.4: a strong validator in the 304 selects stored responses with the same one.
    @Test func rfc9111Section4_3_4StrongValidator() {
        #expect(
            StoredHeaderUpdate.selects(
                etag: #""a""#, lastModified: nil, date: nil, storedETag: #""a""#, storedLastModified: nil))
        #expect(
            !StoredHeaderUpdate.selects(
                etag: #""a""#, lastModified: nil, date: nil, storedETag: #""b""#, storedLastModified: nil))
        #expect(
            !StoredHeaderUpdate.selects(
                etag: #""a""#, lastModified: nil, date: nil, storedETag: #"W/"a""#, storedLastModified: nil))
        #expect(
            !StoredHeaderUpdate.selects(
                etag: #""a""#, lastModified: nil, date: nil, storedETag: nil, storedLastModified: nil))
        // Last-Modified is strong when Date is at least a second later (RFC 9110 §8.8.2.2).
        #expect(
            StoredHeaderUpdate.selects(
                etag: nil, lastModified: Self.lm, date: Self.lm + 1, storedETag: nil, storedLastModified: Self.lm))
        #expect(
            !StoredHeaderUpdate.selects(
                etag: nil, lastModified: Self.lm, date: Self.lm + 1, storedETag: nil, storedLastModified: Self.lm - 1))
        // Either strong validator matching is enough.
        #expect(
            StoredHeaderUpdate.selects(
                etag: #""new""#, lastModified: Self.lm, date: Self.lm + 5, storedETag: #""old""#,
                storedLastModified: Self.lm))
    }

    /// RFC 9111 §4.3.4: only weak validators: a weak match selects.
    @Test func rfc9111Section4_3_4WeakValidator() {
        #expect(
            StoredHeaderUpdate.selects(
                etag: #"W/"a""#, lastModified: nil, date: nil, storedETag: #""a""#, storedLastModified: nil))
        #expect(
            StoredHeaderUpdate.selects(
                etag: #"W/"a""#, lastModified: nil, date: nil, storedETag: #"W/"a""#, storedLastModified: nil))
        #expect(
            !StoredHeaderUpdate.selects(
                etag: #"W/"a""#, lastModified: nil, date: nil, storedETag: #"W/"b""#, storedLastModified: nil))
        // Last-Modified without a Date a second later is weak.
        #expect(
            StoredHeaderUpdate.selects(
                etag: nil, lastModified: Self.lm, date: Self.lm, storedETag: nil, storedLastModified: Self.lm))
        #expect(
            !StoredHeaderUpdate.selects(
                etag: nil, lastModified: Self.lm, date: nil, storedETag: nil, storedLastModified: Self.lm + 1))
    }

    /// RFC 9111 §4.3.4: no validator: only a lone stored response without one is selected.
    @Test func rfc9111Section4_3_4NoValidator() {
        #expect(
            StoredHeaderUpdate.selects(
                etag: nil, lastModified: nil, date: nil, storedETag: nil, storedLastModified: nil))
        #expect(
            !StoredHeaderUpdate.selects(
                etag: nil, lastModified: nil, date: nil, storedETag: nil, storedLastModified: nil, storedCount: 2))
        #expect(
            !StoredHeaderUpdate.selects(
                etag: nil, lastModified: nil, date: nil, storedETag: #""a""#, storedLastModified: nil))
        #expect(
            !StoredHeaderUpdate.selects(
                etag: nil, lastModified: nil, date: nil, storedETag: nil, storedLastModified: Self.lm))
    }
}
