import GeoFrontCore
import Testing

/// What an unsafe request invalidates (RFC 9111 §4.4), with references resolved by RFC 3986 §5.2.
@Suite struct CacheInvalidationTests {
    static func urls(
        location: String? = nil, contentLocation: String? = nil, path: String = "/a/b", query: String? = nil,
        host: String = "Example.com", policy: CacheQueryPolicy = .all
    ) -> [String] {
        CacheInvalidation.urls(
            scheme: "https", host: host, path: path, query: query, location: location,
            contentLocation: contentLocation, policy: policy)
    }

    /// RFC 9111 §4.4: unsafe methods (RFC 9110 §9.2.1: all but GET, HEAD, OPTIONS, TRACE, and unknown
    /// ones) with a non-error status (2xx, 3xx) invalidate.
    @Test func rfc9111Section4_4UnsafeMethodsAndNonErrorStatuses() {
        for method in ["POST", "PUT", "DELETE", "PATCH", "PURGE", "get"] {
            #expect(CacheInvalidation.isUnsafe(method: method), "\(method)")
        }
        for method in ["GET", "HEAD", "OPTIONS", "TRACE"] {
            #expect(!CacheInvalidation.isUnsafe(method: method), "\(method)")
        }
        #expect(CacheInvalidation.isNonError(status: 200) && CacheInvalidation.isNonError(status: 399))
        #expect(!CacheInvalidation.isNonError(status: 199) && !CacheInvalidation.isNonError(status: 404))
        #expect(!CacheInvalidation.isNonError(status: 500))
        #expect(CacheInvalidation.invalidates(method: "POST", status: 303))
        #expect(!CacheInvalidation.invalidates(method: "POST", status: 500))
        #expect(!CacheInvalidation.invalidates(method: "GET", status: 200))
    }

    /// RFC 9111 §4.4: the target URI always, normalised as a cache key's URL.
    @Test func rfc9111Section4_4TargetURI() {
        #expect(Self.urls() == ["https://example.com/a/b"])
        #expect(Self.urls(query: "b=2&a=1", host: "example.com:443") == ["https://example.com/a/b?b=2&a=1"])
        #expect(Self.urls(query: "b=2&a=1&c=3", policy: .allow(["a", "b"])) == ["https://example.com/a/b?a=1&b=2"])
    }

    /// RFC 9111 §4.4: Location and Content-Location of the same origin, absolute or relative.
    @Test func rfc9111Section4_4SameOriginLocations() {
        #expect(
            Self.urls(location: "https://EXAMPLE.com:443/new?x=1", contentLocation: "/c")
                == ["https://example.com/a/b", "https://example.com/new?x=1", "https://example.com/c"])
        #expect(Self.urls(location: "c") == ["https://example.com/a/b", "https://example.com/a/c"])
        #expect(Self.urls(location: "../d#frag") == ["https://example.com/a/b", "https://example.com/d"])
        #expect(Self.urls(location: "?q=1") == ["https://example.com/a/b", "https://example.com/a/b?q=1"])
        #expect(Self.urls(location: "//example.com/e") == ["https://example.com/a/b", "https://example.com/e"])
        // The target itself is listed once.
        #expect(Self.urls(location: "/a/b", contentLocation: "b") == ["https://example.com/a/b"])
    }

    /// RFC 9111 §4.4: another origin (scheme, host or port) is never invalidated.
    @Test func rfc9111Section4_4OtherOriginsIgnored() {
        for other in [
            "http://example.com/x", "https://other.com/x", "https://example.com:8443/x", "//other.com/x",
            "mailto:a@example.com", "https://exa mple.com/",
        ] {
            #expect(Self.urls(location: other) == ["https://example.com/a/b"], "\(other)")
        }
    }

    /// RFC 3986 §5.4.1: the normal examples, resolved against http://a/b/c/d;p?q.
    @Test func rfc3986Section5_4_1Examples() {
        let cases: [(String, String)] = [
            ("g", "http://a/b/c/g"), ("./g", "http://a/b/c/g"), ("g/", "http://a/b/c/g/"), ("/g", "http://a/g"),
            ("?y", "http://a/b/c/d;p?y"), ("g?y", "http://a/b/c/g?y"), ("#s", "http://a/b/c/d;p?q"),
            (";x", "http://a/b/c/;x"), ("", "http://a/b/c/d;p?q"), (".", "http://a/b/c/"), ("./", "http://a/b/c/"),
            ("..", "http://a/b/"), ("../g", "http://a/b/g"), ("../..", "http://a/"), ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"), ("/./g", "http://a/g"), ("g.", "http://a/b/c/g."),
            ("g/../h", "http://a/b/c/h"), ("http://a/x/./y", "http://a/x/y"),
        ]
        for (reference, expected) in cases {
            let urls = CacheInvalidation.urls(
                scheme: "http", host: "a", path: "/b/c/d;p", query: "q", location: reference, contentLocation: nil,
                policy: .all)
            #expect(urls.last == expected, "\(reference)")
        }
    }
}
