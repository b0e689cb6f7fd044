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

    static func text(_ span: RequestHead.Span, in text: String) -> String {
        let bytes = Array(text.utf8)
        return String(decoding: bytes[span.start..<(span.start + span.count)], as: UTF8.self)
    }

    @Test func parsesWhatRoutingNeeds() throws {
        let request =
            "GET /v?x=1 HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4, 5.6.7.8 \r\nforwarded: for=9.9.9.9\r\n"
            + "Connection: keep-alive, close\r\n\r\nNEXT"
        let head = try #require(try Self.parse(request)?.get())
        #expect(Self.text(head.method, in: request) == "GET")
        #expect(Self.text(head.target, in: request) == "/v?x=1")
        #expect(head.version == .http11)
        #expect(head.forwardedFor.map { Self.text($0, in: request) } == ["1.2.3.4, 5.6.7.8"])
        #expect(head.forwarded.map { Self.text($0, in: request) } == ["for=9.9.9.9"])
        #expect(head.closeRequested)
        #expect(head.body == .none)
        #expect(head.length == request.utf8.count - 4)
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
