import Testing

@testable import GeoFrontCore

@Suite struct RedirectLocationTests {
    static let base = Array("https://eu-north.example.com".utf8)

    @Test(arguments: [
        ("/videos/1?t=3", "https://eu-north.example.com/videos/1?t=3"),
        ("/", "https://eu-north.example.com/"),
        ("/a%20b/%E2%82%AC?q=%2F&x=1#frag", "https://eu-north.example.com/a%20b/%E2%82%AC?q=%2F&x=1#frag"),
        ("//evil.example/x", "https://eu-north.example.com//evil.example/x"),  // host stays ours
        ("http://other.example/p?q=1", "https://eu-north.example.com/p?q=1"),  // absolute-form: path only
        ("https://other.example", "https://eu-north.example.com/"),
        ("https://other.example?q", "https://eu-north.example.com/?q"),
        ("*", "https://eu-north.example.com/"),
        ("/a\r\nSet-Cookie: x=1", "https://eu-north.example.com/a%0D%0ASet-Cookie:%20x=1"),
        ("/caf\u{e9}", "https://eu-north.example.com/caf%C3%A9"),
        ("/\u{0}\u{7f}", "https://eu-north.example.com/%00%7F"),
    ])
    func locationKeepsPathAndQueryAndNeverCarriesControlBytes(target: String, expected: String) throws {
        let location = try #require(RedirectLocation.build(base: Self.base, target: target))
        #expect(location == expected)
        #expect(!location.utf8.contains { $0 < 0x21 || $0 > 0x7e })
    }

    @Test(arguments: ["", "videos/1", "example.com:443", "mailto:x@y", ":/x"])
    func targetsWithoutAPathAreRejected(target: String) {
        #expect(RedirectLocation.build(base: Self.base, target: target) == nil)
    }

    @Test func pathPrefixOfRedirectURLIsKept() throws {
        let url = try RedirectURL.parse("https://cdn.example.com/eu/").get()
        #expect(url.base == "https://cdn.example.com/eu")
        #expect(RedirectLocation.build(base: Array(url.base.utf8), target: "/x?y") == "https://cdn.example.com/eu/x?y")
    }
}
