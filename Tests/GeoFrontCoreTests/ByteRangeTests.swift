import GeoFrontCore
import Testing

/// `Range`, `Content-Range` and `If-Range` against a stored representation (RFC 9110 §14, §13.1.5),
/// and the entity tags they use (§8.8.3).
@Suite struct ByteRangeTests {
    /// RFC 9110 §14.1.2: the examples on a 10000-byte representation.
    @Test func rfc9110Section14_1_2Examples() {
        #expect(ByteRange.parse("bytes=0-499", length: 10000) == .satisfiable(start: 0, end: 499))
        #expect(ByteRange.parse("bytes=500-999", length: 10000) == .satisfiable(start: 500, end: 999))
        #expect(ByteRange.parse("bytes=-500", length: 10000) == .satisfiable(start: 9500, end: 9999))
        #expect(ByteRange.parse("bytes=9500-", length: 10000) == .satisfiable(start: 9500, end: 9999))
        #expect(ByteRange.parse("bytes=0-0", length: 10000) == .satisfiable(start: 0, end: 0))
        #expect(ByteRange.parse("bytes=-1", length: 10000) == .satisfiable(start: 9999, end: 9999))
    }

    /// RFC 9110 §14.1.2: a last-pos at or past the end, or a suffix longer than the representation,
    /// means the rest or the whole.
    @Test func rfc9110Section14_1_2Clamping() {
        #expect(ByteRange.parse("bytes=5-100", length: 10) == .satisfiable(start: 5, end: 9))
        #expect(ByteRange.parse("bytes=-100", length: 10) == .satisfiable(start: 0, end: 9))
        #expect(ByteRange.parse("bytes=0-99999999999999999999999", length: 10) == .satisfiable(start: 0, end: 9))
    }

    /// RFC 9110 §14.1.1: first-pos at or past the end, or a zero suffix, selects nothing: 416.
    @Test func rfc9110Section14_1_1Unsatisfiable() {
        #expect(ByteRange.parse("bytes=10-", length: 10) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=10-20", length: 10) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-0", length: 10) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=99999999999999999999999-", length: 10) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-", length: 0) == .unsatisfiable)
        // §14.1.1: on an empty representation only a suffix range is satisfiable: served whole.
        #expect(ByteRange.parse("bytes=-5", length: 0) == ByteRange.none)
    }

    /// RFC 9110 §14.2: invalid syntax, another unit or several ranges: the Range is ignored (200).
    @Test func rfc9110Section14_2IgnoredRanges() {
        for value in [
            "bytes=5-1", "bytes=", "bytes=a-b", "bytes=1-2-3", "bytes 0-1", "items=0-1", "bytes=0-1,2-3",
            "bytes=-", "bytes=+1-2", "bytes=0x1-2", "",
        ] {
            #expect(ByteRange.parse(value, length: 100) == ByteRange.none, "\(value)")
        }
        #expect(ByteRange.parse(nil, length: 100) == ByteRange.none)
    }

    /// RFC 9110 §14.1.1: the unit is case-insensitive; §5.6.1: whitespace and empty list members.
    @Test func rfc9110Section14_1_1UnitCaseAndListSyntax() {
        #expect(ByteRange.parse("Bytes=1-2", length: 10) == .satisfiable(start: 1, end: 2))
        #expect(ByteRange.parse("bytes= 1-2 ,", length: 10) == .satisfiable(start: 1, end: 2))
        #expect(ByteRange.parse("bytes=, ,1-2", length: 10) == .satisfiable(start: 1, end: 2))
    }

    /// RFC 9110 §14.4: `Content-Range` of a 206 and of a 416.
    @Test func rfc9110Section14_4ContentRange() {
        #expect(ByteRange.contentRange(start: 0, end: 499, length: 1234) == "bytes 0-499/1234")
        #expect(ByteRange.unsatisfiedContentRange(length: 1234) == "bytes */1234")
        #expect(ByteRange.satisfiable(start: 2, end: 3).contentRange(length: 10) == "bytes 2-3/10")
        #expect(ByteRange.unsatisfiable.contentRange(length: 10) == "bytes */10")
        #expect(ByteRange.none.contentRange(length: 10) == nil)
    }

    static let lastModified = CacheRulesTests.example
    static let lastModifiedText = "Sun, 06 Nov 1994 08:49:37 GMT"

    /// RFC 9110 §13.1.5: an entity tag holds only by the strong comparison.
    @Test func rfc9110Section13_1_5EntityTag() {
        #expect(ByteRange.ifRangeHolds(#""abc""#, etag: #""abc""#, lastModified: nil, date: nil))
        #expect(!ByteRange.ifRangeHolds(#""abc""#, etag: #""abd""#, lastModified: nil, date: nil))
        #expect(!ByteRange.ifRangeHolds(#"W/"abc""#, etag: #"W/"abc""#, lastModified: nil, date: nil))
        #expect(!ByteRange.ifRangeHolds(#""abc""#, etag: #"W/"abc""#, lastModified: nil, date: nil))
        #expect(!ByteRange.ifRangeHolds(#""abc""#, etag: nil, lastModified: Self.lastModified, date: nil))
    }

    /// RFC 9110 §13.1.5 with §8.8.2.2: a date holds when it equals Last-Modified and that is strong
    /// (the stored Date at least one second later).
    @Test func rfc9110Section13_1_5Date() {
        let lm = Self.lastModified
        #expect(ByteRange.ifRangeHolds(Self.lastModifiedText, etag: #""x""#, lastModified: lm, date: lm + 1))
        #expect(!ByteRange.ifRangeHolds(Self.lastModifiedText, etag: nil, lastModified: lm, date: lm))
        #expect(!ByteRange.ifRangeHolds(Self.lastModifiedText, etag: nil, lastModified: lm, date: nil))
        #expect(!ByteRange.ifRangeHolds(Self.lastModifiedText, etag: nil, lastModified: lm + 1, date: lm + 10))
        #expect(!ByteRange.ifRangeHolds(Self.lastModifiedText, etag: nil, lastModified: nil, date: lm + 10))
        #expect(!ByteRange.ifRangeHolds("yesterday", etag: nil, lastModified: lm, date: lm + 10))
    }

    /// RFC 9110 §13.1.5: when If-Range does not hold the Range is ignored (200).
    @Test func rfc9110Section13_1_5IfRangeWithRange() {
        #expect(
            ByteRange.parse("bytes=0-1", ifRange: #""a""#, length: 10, etag: #""a""#, lastModified: nil, date: nil)
                == .satisfiable(start: 0, end: 1))
        #expect(
            ByteRange.parse("bytes=0-1", ifRange: #""b""#, length: 10, etag: #""a""#, lastModified: nil, date: nil)
                == ByteRange.none)
        #expect(
            ByteRange.parse("bytes=0-1", ifRange: nil, length: 10, etag: nil, lastModified: nil, date: nil)
                == .satisfiable(start: 0, end: 1))
    }

    /// RFC 9110 §8.8.3: entity-tag syntax and the two comparisons (the table of §8.8.3.2).
    @Test func rfc9110Section8_8_3EntityTags() throws {
        let weak1 = try #require(EntityTag(#"W/"1""#))
        let weak2 = try #require(EntityTag(#"W/"2""#))
        let strong1 = try #require(EntityTag(#" "1" "#))
        #expect(weak1.isWeak && weak1.opaque == #""1""# && weak1.value == #"W/"1""#)
        #expect(!weak1.strongMatches(weak1) && weak1.weakMatches(weak1))
        #expect(!weak1.strongMatches(weak2) && !weak1.weakMatches(weak2))
        #expect(!weak1.strongMatches(strong1) && weak1.weakMatches(strong1))
        #expect(strong1.strongMatches(strong1) && strong1.weakMatches(strong1))
        for invalid in ["1", #"w/"1""#, #""1"#, #""a"b""#, "\"a b\"", ""] {
            #expect(EntityTag(invalid) == nil, "\(invalid)")
        }
        #expect(EntityTag.list(#""a", W/"b,c" ,, "d""#)?.map(\.value) == [#""a""#, #"W/"b,c""#, #""d""#])
        #expect(EntityTag.list(#""a", b"#) == nil)
        #expect(EntityTag.list("")?.isEmpty == true)
    }
}
