import Testing

@testable import GeoFrontCore

/// A regex route's literal prefix: paths without it are refused before the regex runs, so it
/// must never refuse a path the regex takes.
@Suite struct RoutePatternTests {
    @Test(arguments: [
        ("/items13/[0-9]+/(view|edit)", "/items13/"), ("/v1/.*", "/v1/"), ("^/api/x?", "/api/"),
        (#"/api\.v2/x"#, "/api.v2/x"), ("/ab+c", "/ab"), ("/a{2}", "/"), ("/api/[0-9]+", "/api/"),
        ("a|b", ""), ("/x(a|b)|/y", ""), ("(?i)/api", ""), (#"\d+"#, ""), ("[/]x", ""), ("/a*", "/"),
    ])
    func literalPrefix(source: String, prefix: String) throws {
        #expect(String(decoding: try RoutePattern(source).literalPrefix, as: UTF8.self) == prefix)
    }

    /// Every path the regex matches starts with the prefix.
    @Test func thePrefixNeverRefusesAMatch() throws {
        let paths = [
            "/items13/42/view", "/v1/", "/v1/x", "/api/", "/api/x", "/api.v2/x", "/abbbc", "/aa", "/api/7", "/", "/a",
            "/aaaa", "a", "b", "/y", "/xa", "/API", "/Api",
        ]
        for source in [
            "/items13/[0-9]+/(view|edit)", "/v1/.*", "^/api/x?", #"/api\.v2/x"#, "/ab+c", "/a{2}", "/api/[0-9]+",
            "a|b", "/x(a|b)|/y", "(?i)/api", "/a*",
        ] {
            let pattern = try RoutePattern(source)
            for path in paths where pattern.matches(path) {
                #expect(path.utf8.starts(with: pattern.literalPrefix), "\(source) matches \(path)")
            }
        }
    }
}
