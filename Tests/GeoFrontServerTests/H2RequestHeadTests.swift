import NIOCore
import NIOHPACK
import Testing

@testable import GeoFrontServer

/// An HTTP/2 request header block as the HTTP/1.1 head the front end reads, and what RFC 9113
/// §8.2 and §8.3 call malformed (NIOHTTP2's own header validation is off for client connections:
/// these checks are the only ones before the front end's HTTP/1.1 parser).
@Suite struct H2RequestHeadTests {
    static let base: [(String, String)] = [
        (":method", "GET"), (":scheme", "https"), (":authority", "shop.example"), (":path", "/a?b=1"),
    ]

    static func make(_ fields: [(String, String)], endStream: Bool = true) throws(H2RequestHead.Malformed)
        -> H2RequestHead
    {
        try H2RequestHead.make(HPACKHeaders(fields), endStream: endStream, allocator: ByteBufferAllocator())
    }

    static func isMalformed(_ fields: [(String, String)]) -> Bool {
        do {
            _ = try make(fields)
            return false
        } catch {
            return true
        }
    }

    @Test func aWellFormedBlockBecomesAnHTTP1Head() throws {
        let head = try Self.make(
            Self.base + [("cookie", "a=1"), ("accept", "*/*"), ("cookie", "b=2"), ("te", "trailers")])
        #expect(
            String(buffer: head.bytes)
                == "GET /a?b=1 HTTP/1.1\r\nhost: shop.example\r\ncookie: a=1; b=2\r\naccept: */*\r\nte: trailers\r\n\r\n"
        )
        #expect(head.body == .none)
        let post = try Self.make(
            [(":method", "POST"), (":scheme", "https"), (":authority", "shop.example"), (":path", "/u")],
            endStream: false)
        #expect(post.body == .chunked)
        #expect(String(buffer: post.bytes).hasSuffix("transfer-encoding: chunked\r\n\r\n"))
        // Empty values and the visible characters HTTP/2 allows pass.
        #expect(!Self.isMalformed(Self.base + [("x-empty", ""), ("x-inner", "a b\tc")]))
    }

    typealias Case = (what: String, fields: [(String, String)])

    static let malformed: [Case] = {
        let base = Self.base
        var cases: [Case] = []
        cases.append(("an upper-case name", base + [("X-Upper", "1")]))
        cases.append(("a name with a space", base + [("x a", "1")]))
        cases.append(("an empty name", base + [("", "1")]))
        cases.append(("a connection-specific field", base + [("connection", "close")]))
        cases.append(("keep-alive", base + [("keep-alive", "5")]))
        cases.append(("proxy-connection", base + [("proxy-connection", "x")]))
        cases.append(("transfer-encoding", base + [("transfer-encoding", "chunked")]))
        cases.append(("upgrade", base + [("upgrade", "websocket")]))
        cases.append(("te other than trailers", base + [("te", "gzip")]))
        cases.append(("a value with NUL", base + [("x-a", "a\u{0}b")]))
        cases.append(("a value with CR", base + [("x-a", "a\rb")]))
        cases.append(("a value with LF", base + [("x-a", "a\nb")]))
        cases.append(("a leading space", base + [("x-a", " a")]))
        cases.append(("a trailing tab", base + [("x-a", "a\t")]))
        cases.append(("a repeated :path", base + [(":path", "/b")]))
        cases.append(("a repeated :method", [(":method", "GET")] + base))
        cases.append(("an unknown pseudo-header", base + [(":foo", "1")]))
        cases.append(("a response's :status", base + [(":status", "200")]))
        cases.append(
            ("a pseudo-header after a field", [(":method", "GET"), ("x-a", "1"), (":scheme", "https"), (":path", "/")]))
        cases.append(("no :scheme", [(":method", "GET"), (":authority", "shop.example"), (":path", "/")]))
        cases.append(("no :path", [(":method", "GET"), (":scheme", "https"), (":authority", "shop.example")]))
        cases.append(("no :method", [(":scheme", "https"), (":authority", "shop.example"), (":path", "/")]))
        cases.append(
            ("CONNECT with :path", [(":method", "CONNECT"), (":authority", "shop.example:443"), (":path", "/")]))
        cases.append(("CONNECT without :authority", [(":method", "CONNECT")]))
        cases.append(("an absolute :path", [(":method", "GET"), (":scheme", "https"), (":path", "http://elsewhere/")]))
        cases.append(
            (
                "userinfo in :authority",
                [(":method", "GET"), (":scheme", "https"), (":authority", "u@h"), (":path", "/")]
            ))
        cases.append(("a content-length that is not a number", base + [("content-length", "5x")]))
        cases.append(("an empty content-length", base + [("content-length", "")]))
        cases.append(("two content-lengths that differ", base + [("content-length", "0"), ("content-length", "1")]))
        cases.append(("a list of differing lengths", base + [("content-length", "0, 1")]))
        // The block ends the stream (``make``'s default here): no content follows (§8.1.1).
        cases.append(("a content-length on a block without content", base + [("content-length", "5")]))
        return cases
    }()

    @Test(arguments: malformed)
    func malformedBlocksAreRefused(what: String, fields: [(String, String)]) {
        #expect(Self.isMalformed(fields), "\(what)")
    }

    @Test func theContentLengthIsTheOneTheDATAMustAddUpTo() throws {
        let post = [(":method", "POST"), (":scheme", "https"), (":authority", "shop.example"), (":path", "/u")]
        let given = try Self.make(post + [("content-length", "12")], endStream: false)
        #expect(given.body == .length)
        #expect(given.contentLength == 12)
        // The same value repeated is the one value (RFC 9110 §8.6).
        #expect(
            try Self.make(post + [("content-length", "7, 7"), ("content-length", "7")], endStream: false).contentLength
                == 7)
        // 0 on a block that ends the stream is true.
        #expect(try Self.make(post + [("content-length", "0")]).body == .none)
        #expect(try Self.make(post, endStream: false).contentLength == nil)
    }

    @Test func trailers() {
        #expect(H2RequestHead.isValidTrailers(HPACKHeaders([("grpc-status", "0"), ("x-sum", "abc")])))
        #expect(!H2RequestHead.isValidTrailers(HPACKHeaders([(":path", "/")])))
        #expect(!H2RequestHead.isValidTrailers(HPACKHeaders([("X-Sum", "abc")])))
        #expect(!H2RequestHead.isValidTrailers(HPACKHeaders([("x-sum", "a\rb")])))
    }
}
