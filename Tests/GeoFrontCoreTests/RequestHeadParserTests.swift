import Testing

@testable import GeoFrontCore

@Suite struct RequestHeadParserTests {
    static func parse(_ text: String, limit: Int = 8192) -> Result<RequestHead, RequestHeadError>? {
        var head = RequestHead()
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { raw -> Result<RequestHead, RequestHeadError>? in
            do throws(RequestHeadError) {
                switch try RequestHeadParser.parse(UnsafeRawBufferPointer(raw), limit: limit, into: &head) {
                case .incomplete: return nil
                case .complete: return .success(head)
                }
            } catch {
                return .failure(error)
            }
        }
    }

    /// RFC 9110 §5.6.2: tchar is ALPHA, DIGIT and "!#$%&'*+-.^_`|~", nothing else of the 256 bytes.
    @Test func tokenBytesAreExactlyTchar() {
        for value in 0...255 {
            let byte = UInt8(value)
            let alphaOrDigit =
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            let expected = alphaOrDigit || "!#$%&'*+-.^_`|~".utf8.contains(byte)
            #expect(RequestHeadParser.isTokenByte(byte) == expected, "byte \(value)")
        }
    }

    @Test func parsesWhatRoutingNeeds() throws {
        let request =
            "GET /v?x=1 HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4, 5.6.7.8 \r\nforwarded: for=9.9.9.9\r\n"
            + "Connection: keep-alive, close\r\n\r\nNEXT"
        let head = try #require(try Self.parse(request)?.get())
        #expect(HeadText.text(head.method, in: request) == "GET")
        #expect(HeadText.text(head.target, in: request) == "/v?x=1")
        #expect(head.version == .http11)
        #expect(head.forwardedFor.map { HeadText.text($0, in: request) } == ["1.2.3.4, 5.6.7.8"])
        #expect(head.forwarded.map { HeadText.text($0, in: request) } == ["for=9.9.9.9"])
        #expect(head.closeRequested)
        #expect(head.body == .none)
        #expect(head.length == request.utf8.count - 4)
        #expect(head.host.map { HeadText.text($0, in: request) } == "a")
    }

    /// The parser keeps the first `Host` value (routing and the cache key read it instead of walking
    /// the field lines again), and a head parsed into the same value after one with a `Host` has none.
    @Test func keepsTheHostFieldValue() throws {
        let spaced = "GET / HTTP/1.1\r\nX-A: 1\r\nhOST:  Example.COM:8080 \r\n\r\n"
        #expect(try Self.parse(spaced)?.get().host.map { HeadText.text($0, in: spaced) } == "Example.COM:8080")
        let twice = "GET / HTTP/1.0\r\nHost: first\r\nHost: second\r\n\r\n"
        #expect(try Self.parse(twice)?.get().host.map { HeadText.text($0, in: twice) } == "first")
        var head = RequestHead()
        for (text, expected) in [("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "a"), ("GET / HTTP/1.0\r\n\r\n", nil)] {
            let bytes = Array(text.utf8)
            let outcome = try bytes.withUnsafeBytes { try RequestHeadParser.parse($0, limit: 8192, into: &head) }
            #expect(outcome == .complete)
            #expect(head.host.map { HeadText.text($0, in: text) } == expected, "\(text)")
        }
        let route = try OwnedRouteRequest(target: "/p", host: "Example.COM:8080")
        let host = route.withRequest { request, bytes in
            request.host.map { String(decoding: $0.bytes(in: bytes), as: UTF8.self) }
        }
        #expect(host == "Example.COM")
    }

    @Test func framing() throws {
        #expect(
            try Self.parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n")?.get().body == .contentLength(12)
        )
        #expect(
            try Self.parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n")?.get().body == .chunked)
        #expect(try Self.parse("GET / HTTP/1.0\r\n\r\n")?.get().closeRequested == true)
        #expect(try Self.parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")?.get().closeRequested == false)
    }

    /// The head ends at the first CRLF CRLF, found wherever the bytes stop: every shorter prefix
    /// is incomplete, CRs that start no terminator are passed over, and what follows is not read.
    @Test func theHeadEndsAtTheFirstBlankLine() {
        let head = "GET / HTTP/1.1\r\nHost: a\r\nX-A: \r\r\n\r\n"
        let bytes = Array((head + "GET /next HTTP/1.1\r\n\r\n").utf8)
        bytes.withUnsafeBytes { raw in
            for count in 0..<head.utf8.count {
                #expect(
                    RequestHeadParser.headEnd(UnsafeRawBufferPointer(rebasing: raw[0..<count]), from: 0) == nil,
                    "prefix of \(count)")
            }
            for count in head.utf8.count...raw.count {
                #expect(
                    RequestHeadParser.headEnd(UnsafeRawBufferPointer(rebasing: raw[0..<count]), from: 0)
                        == head.utf8.count, "prefix of \(count)")
            }
            #expect(RequestHeadParser.headEnd(raw, from: head.utf8.count) == raw.count)
        }
        #expect(RequestHeadParser.headEnd(UnsafeRawBufferPointer(start: nil, count: 0), from: 0) == nil)
    }

    @Test func incompleteAndTooLarge() {
        #expect(Self.parse("GET / HTTP/1.1\r\nHost: a\r\n") == nil)
        #expect(Self.parse("GET /" + String(repeating: "a", count: 300), limit: 256)?.failure == .tooLarge)
        #expect(
            Self.parse(
                "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "b", count: 300) + "\r\n\r\n", limit: 256)?
                .failure == .tooLarge)
    }

    @Test(arguments: [
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",  // two spaces
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\r\n\r\n",  // bare LF
        "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n",  // bare CR
        "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1}b\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",  // no Host
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ": / HTTP/1.1\r\nHost: a\r\n\r\n",
    ])
    func refused(request: String) {
        #expect(Self.parse(request)?.failure == .badRequest, "\(request.debugDescription)")
    }

    @Test func connectionNamesAreSpansIntoTheHead() throws {
        let request =
            "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Hop , upgrade\r\nUpgrade: websocket\r\n\r\n"
        let head = try #require(try Self.parse(request)?.get())
        #expect(head.connectionNames.map { HeadText.text($0, in: request) } == ["X-Hop", "upgrade"])
        let hop = try #require(HeadText.offset(of: "X-Hop , upgrade", in: request))
        #expect(
            head.connectionNames == [
                RequestHead.Span(start: hop, count: 5), RequestHead.Span(start: hop + 8, count: 7),
            ])
        #expect(head.connectionNamesOverflow == false)
        #expect(head.closeRequested == false)
        #expect(head.hasExpect == false)
    }

    struct ConnectionCase: Sendable, CustomTestStringConvertible {
        var fields: String
        var names: [String]
        var overflow = false
        var close = false

        var request: String { "GET / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n" }
        var testDescription: String { fields.debugDescription }
    }

    @Test(arguments: [
        ConnectionCase(fields: "", names: []),
        ConnectionCase(fields: "Connection: keep-alive\r\n", names: []),
        ConnectionCase(fields: "Connection: Close\r\n", names: [], close: true),
        ConnectionCase(fields: "connection: ,, X-A,\tx-b ,\r\nCONNECTION: TE\r\n", names: ["X-A", "x-b", "TE"]),
        // Eight names fit.
        ConnectionCase(
            fields: "Connection: a, b, c, d, e, f, g, h\r\n", names: ["a", "b", "c", "d", "e", "f", "g", "h"]),
        // A ninth overflows, but the request is still accepted; the first eight are kept.
        ConnectionCase(
            fields: "Connection: a, b, c, d, e, f, g, h, i\r\n", names: ["a", "b", "c", "d", "e", "f", "g", "h"],
            overflow: true),
        ConnectionCase(
            fields: "Connection: a, b, c, d, e\r\nConnection: f, g, h, i, j\r\n",
            names: ["a", "b", "c", "d", "e", "f", "g", "h"], overflow: true),
        // close and keep-alive do not count, and are still seen after an overflow.
        ConnectionCase(
            fields: "Connection: keep-alive, a, b, c, d, e, f, g, h, i, close\r\n",
            names: ["a", "b", "c", "d", "e", "f", "g", "h"], overflow: true, close: true),
    ])
    func connectionNames(_ connectionCase: ConnectionCase) throws {
        let request = connectionCase.request
        let head = try #require(try Self.parse(request)?.get())
        #expect(head.connectionNames.map { HeadText.text($0, in: request) } == connectionCase.names)
        #expect(head.connectionNamesOverflow == connectionCase.overflow)
        #expect(head.closeRequested == connectionCase.close)
    }

    @Test func expect() throws {
        let request = "POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
        let head = try #require(try Self.parse(request)?.get())
        #expect(head.hasExpect)
        #expect(head.body == .contentLength(5))
        #expect(try Self.parse("PUT / HTTP/1.1\r\nexpect:100-continue\r\nHost: a\r\n\r\n")?.get().hasExpect == true)
        #expect(try Self.parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")?.get().hasExpect == false)
        // Not a prefix match.
        #expect(try Self.parse("GET / HTTP/1.1\r\nHost: a\r\nExpected: x\r\n\r\n")?.get().hasExpect == false)
    }

    @Test func reusedHeadIsReset() throws {
        var head = RequestHead()
        for (request, expectations) in [
            (
                "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nConnection: a, b, c, d, e, f, g, h, i\r\n\r\n",
                true
            ),
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", false),
        ] {
            var bytes = Array(request.utf8)
            let outcome = bytes.withUnsafeMutableBytes { raw in
                try? RequestHeadParser.parse(UnsafeRawBufferPointer(raw), limit: 8192, into: &head)
            }
            #expect(outcome == .complete)
            #expect(head.hasExpect == expectations)
            #expect(head.connectionNamesOverflow == expectations)
            #expect(head.connectionNames.count == (expectations ? 8 : 0))
        }
    }

    static func skip(_ body: String) -> Result<ChunkedBodySkipper.Outcome, RequestHeadError> {
        var skipper = ChunkedBodySkipper()
        var bytes = Array(body.utf8)
        return bytes.withUnsafeMutableBytes { raw in
            do throws(RequestHeadError) { return .success(try skipper.consume(UnsafeRawBufferPointer(raw))) } catch {
                return .failure(error)
            }
        }
    }

    @Test func chunkedBodies() throws {
        #expect(try Self.skip("5\r\nhello\r\n0\r\n\r\nGET").get() == .done(consumed: 15))
        #expect(try Self.skip("a;name=v\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n").get() == .done(consumed: 35))
        #expect(try Self.skip("5\r\nhel").get() == .needMore)
        for bad in [
            "ZZ\r\n", "5\nhello\r\n", "5\r\nhelloX\r\n", "\r\n", "1234567890123456\r\n", "5 \r\n",
            "0\r\nX\u{1}\r\n\r\n",
        ] {
            #expect(throws: RequestHeadError.self, "\(bad.debugDescription)") { try Self.skip(bad).get() }
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
