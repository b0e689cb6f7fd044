import GeoFrontCore
import Testing

/// RFC 8941 dictionaries as `CDN-Cache-Control` (RFC 9213) uses them, and their directives.
@Suite struct TargetedCacheControlTests {
    private static func members(_ text: String) -> [(key: String, value: StructuredDictionary.Value)]? {
        Array(text.utf8).withUnsafeBytes { StructuredDictionary.parse($0) }
    }

    private static func directives(_ text: String) -> CacheControl? {
        Array(text.utf8).withUnsafeBytes { TargetedCacheControl.parse($0) }
    }

    @Test func validDictionaries() throws {
        let parsed = try #require(
            Self.members(#"a=1;p=2, b=?0, c="x\"y", d=tok/en:x, e=:YWJj:, f=(1 "two");q, g=-1.5, h"#))
        #expect(parsed.map(\.key) == ["a", "b", "c", "d", "e", "f", "g", "h"])
        #expect(
            parsed.map(\.value) == [
                .integer(1), .boolean(false), .string(#"x"y"#), .token("tok/en:x"), .bytes, .innerList, .decimal(-1.5),
                .boolean(true),
            ])
        // A repeated key keeps its last value, in its first place (RFC 8941 §4.2.2).
        #expect(Self.members("a=1, b, a=2")?.map(\.value) == [.integer(2), .boolean(true)])
        #expect(Self.members("  a=1  ,\tb  ")?.count == 2)
    }

    @Test(arguments: [
        "max-age=10000, &&&&&", "MaX-aGe=3600", "max-age =100", "max-age= 100", "a=1,", ",a", "a=\"open",
        "a=1234567890123456", "a=1.2345", "a=1234567890123.5", "a=?2", "a=(1 2", "a=\"\u{7F}\"", "a=\"\\n\"", "a=:*:",
        "a=1 b=2", "a;=1", "1a=2", "a=1.",
    ])
    func invalidDictionaries(_ text: String) {
        #expect(Self.members(text) == nil)
    }

    @Test func directivesOfTheTargetedField() throws {
        let plain = try #require(Self.directives("max-age=60, s-maxage=30, stale-while-revalidate=5, stale-if-error=7"))
        #expect(plain.maxAge == 60)
        #expect(plain.sMaxAge == 30)
        #expect(plain.staleWhileRevalidate == 5)
        #expect(plain.staleIfError == 7)
        let flags = try #require(
            Self.directives("no-store, no-cache, private, public, must-revalidate, proxy-revalidate"))
        #expect(flags.noStore && flags.noCache && flags.isPrivate && flags.isPublic)
        #expect(flags.mustRevalidate && flags.proxyRevalidate)
        #expect(Self.directives("no-store=?0")?.noStore == false)
        #expect(Self.directives(#"private="set-cookie""#)?.isPrivate == true)
        // Saturated at 2^31 (RFC 9111 §1.2.2); a String, a negative number or a Decimal is ignored.
        #expect(Self.directives("max-age=99999999999")?.maxAge == CacheControl.maxDeltaSeconds)
        #expect(Self.directives(#"max-age="100""#)?.maxAge == nil)
        #expect(Self.directives("max-age=-1")?.maxAge == nil)
        #expect(Self.directives("max-age=1.5")?.maxAge == nil)
        #expect(Self.directives("foobar, max-age=5")?.maxAge == 5)
        #expect(Self.directives("") == nil)
        #expect(Self.directives("max-age=5, &") == nil)
    }

    /// RFC 9213 §2.1 through the text form of a response's fields (a 304's update uses it).
    @Test func theTargetedFieldReplacesCacheControlAndExpires() {
        let expires = "Thu, 01 Jan 2099 00:00:00 GMT"
        let targeted = CacheHeaders([
            ("Cache-Control", "max-age=1, must-revalidate"), ("Expires", expires), ("CDN-Cache-Control", "max-age=600"),
        ])
        #expect(targeted.cacheControl.maxAge == 600)
        #expect(!targeted.cacheControl.mustRevalidate)
        #expect(targeted.expires == .absent)
        // Two lines are one dictionary.
        let twoLines = CacheHeaders([("CDN-Cache-Control", "max-age=600"), ("CDN-Cache-Control", "private")])
        #expect(twoLines.cacheControl.maxAge == 600 && twoLines.cacheControl.isPrivate)
        let invalid = CacheHeaders([("Cache-Control", "max-age=1"), ("Expires", expires), ("CDN-Cache-Control", "&")])
        #expect(invalid.cacheControl.maxAge == 1)
        #expect(invalid.expires != .absent)
    }

    /// RFC 9111 §5.1: `Age` as a list on one line is its first member.
    @Test func ageListsAreReadAsTheirFirstMember() {
        func age(_ text: String) -> Int? { Array(text.utf8).withUnsafeBytes { CacheHeaders.age($0) } }
        #expect(age("7200, 0") == 7200)
        #expect(age("0, 7200") == 0)
        #expect(age(" 42 ") == 42)
        #expect(age("abc") == nil)
        #expect(age("-1") == nil)
        #expect(age(", 5") == nil)
        #expect(age("99999999999") == CacheControl.maxDeltaSeconds)
        #expect(CacheHeaders([("Age", "60, 0")]).age == 60)
    }
}
