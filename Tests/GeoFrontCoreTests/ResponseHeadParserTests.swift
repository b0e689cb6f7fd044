import Testing

@testable import GeoFrontCore

@Suite struct ResponseHeadParserTests {
    static func parse(_ text: String, limit: Int = 8192) -> Result<ResponseHead, RequestHeadError>? {
        var head = ResponseHead()
        return parse(text, limit: limit, into: &head)
    }

    static func parse(_ text: String, limit: Int = 8192, into head: inout ResponseHead) -> Result<
        ResponseHead, RequestHeadError
    >? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { raw -> Result<ResponseHead, RequestHeadError>? in
            do throws(RequestHeadError) {
                switch try ResponseHeadParser.parse(UnsafeRawBufferPointer(raw), limit: limit, into: &head) {
                case .incomplete: return nil
                case .complete: return .success(head)
                }
            } catch {
                return .failure(error)
            }
        }
    }

    struct Accepted: Sendable, CustomTestStringConvertible {
        var statusLine: String
        var fields: String = ""
        /// Bytes after the head (a body, or the next response); not part of `length`.
        var rest: String = ""
        var status: Int
        var version = RequestHead.Version.http11
        var contentLength: Int?
        var chunked = false
        var closeRequested = false
        var connectionNames: [String] = []

        var head: String { statusLine + fields + "\r\n" }
        var testDescription: String { (head + rest).debugDescription }
    }

    @Test(arguments: [
        Accepted(
            statusLine: "HTTP/1.1 200 OK\r\n", fields: "Content-Type: text/plain\r\nContent-Length: 5\r\n",
            rest: "hello", status: 200, contentLength: 5),
        // No reason phrase, and an empty one.
        Accepted(statusLine: "HTTP/1.1 204\r\n", status: 204),
        Accepted(statusLine: "HTTP/1.1 200 \r\n", fields: "Transfer-Encoding: chunked\r\n", status: 200, chunked: true),
        Accepted(
            statusLine: "HTTP/1.1 503 Service\tUnavailable  \r\n",
            fields: "Retry-After:  10 \r\nTransfer-Encoding: CHUNKED\r\n",
            rest: "0\r\n\r\n", status: 503, chunked: true),
        // HTTP/1.0: closes unless keep-alive is asked for.
        Accepted(
            statusLine: "HTTP/1.0 200 OK\r\n", fields: "Content-Length: 0\r\n", status: 200, version: .http10,
            contentLength: 0, closeRequested: true),
        Accepted(statusLine: "HTTP/1.0 404 Not Found\r\n", status: 404, version: .http10, closeRequested: true),
        Accepted(
            statusLine: "HTTP/1.0 200 OK\r\n", fields: "Connection: keep-alive\r\nContent-Length: 3\r\n", rest: "abc",
            status: 200, version: .http10, contentLength: 3),
        Accepted(
            statusLine: "HTTP/1.0 200 OK\r\n", fields: "connection: Keep-Alive\r\n", status: 200, version: .http10),
        // Connection: close, and the other tokens as hop-by-hop names (across lines, case kept).
        Accepted(
            statusLine: "HTTP/1.1 200 OK\r\n", fields: "Connection: close, X-Hop\r\nContent-Length: 1\r\n", status: 200,
            contentLength: 1, closeRequested: true, connectionNames: ["X-Hop"]),
        Accepted(
            statusLine: "HTTP/1.1 101 Switching Protocols\r\n", fields: "Connection: Upgrade\r\nUpgrade: websocket\r\n",
            status: 101, connectionNames: ["Upgrade"]),
        Accepted(
            statusLine: "HTTP/1.1 200 OK\r\n", fields: "Connection: keep-alive, X-A,X-B ,\tx-c\r\nCONNECTION: X-D\r\n",
            status: 200, connectionNames: ["X-A", "X-B", "x-c", "X-D"]),
        // Exactly the maximum number of Connection names.
        Accepted(
            statusLine: "HTTP/1.1 200 OK\r\n", fields: "Connection: a, b, c, d\r\nConnection: e, f, g, h, close\r\n",
            status: 200, closeRequested: true, connectionNames: ["a", "b", "c", "d", "e", "f", "g", "h"]),
        // The same Content-Length twice.
        Accepted(
            statusLine: "HTTP/1.1 200 OK\r\n", fields: "Content-Length: 42\r\ncontent-length: 42\r\n", status: 200,
            contentLength: 42),
        Accepted(statusLine: "HTTP/1.1 100 Continue\r\n", rest: "HTTP/1.1 200 OK\r\n\r\n", status: 100),
        Accepted(statusLine: "HTTP/1.1 999 Whatever\r\n", status: 999),
    ])
    func accepted(_ expected: Accepted) throws {
        let input = expected.head + expected.rest
        let head = try #require(try Self.parse(input)?.get())
        #expect(head.status == expected.status)
        #expect(head.version == expected.version)
        #expect(head.contentLength == expected.contentLength)
        #expect(head.chunked == expected.chunked)
        #expect(head.closeRequested == expected.closeRequested)
        #expect(head.connectionNames.map { HeadText.text($0, in: input) } == expected.connectionNames)
        #expect(head.length == expected.head.utf8.count)
        #expect(head.statusStart == 9)
        #expect(head.fieldsStart == expected.statusLine.utf8.count)
        #expect(
            HeadText.text(RequestHead.Span(start: head.statusStart, count: 3), in: input) == String(expected.status))
    }

    @Test func offsetsAndSpans() throws {
        let response = "HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nContent-Length: 2\r\n\r\nhi"
        let head = try #require(try Self.parse(response)?.get())
        #expect(head.statusStart == 9)
        #expect(head.fieldsStart == 17)
        #expect(head.length == 57)
        let hop = try #require(HeadText.offset(of: "X-Hop", in: response))
        #expect(head.connectionNames == [RequestHead.Span(start: hop, count: 5)])

        let short = "HTTP/1.1 204\r\n\r\n"
        let bare = try #require(try Self.parse(short)?.get())
        #expect(bare.fieldsStart == 14)
        #expect(bare.length == 16)
    }

    @Test func reusedHeadIsReset() throws {
        var head = ResponseHead()
        let first = try #require(
            try Self.parse("HTTP/1.0 200 OK\r\nConnection: X-Hop\r\nContent-Length: 3\r\n\r\n", into: &head)?.get())
        #expect(first.version == .http10 && first.closeRequested && first.connectionNames.count == 1)
        let second = try #require(
            try Self.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", into: &head)?.get())
        #expect(second.version == .http11)
        #expect(second.closeRequested == false)
        #expect(second.connectionNames.isEmpty)
        #expect(second.contentLength == nil)
        #expect(second.chunked)
        let third = try #require(try Self.parse("HTTP/1.1 304 Not Modified\r\n\r\n", into: &head)?.get())
        #expect(third.status == 304)
        #expect(third.chunked == false)
        #expect(third.length == 29)
        #expect(third.fieldsStart == 27)
    }

    @Test func incompleteAndTooLarge() throws {
        #expect(Self.parse("") == nil)
        #expect(Self.parse("HTTP/1.1 200 OK") == nil)
        #expect(Self.parse("HTTP/1.1 200 OK\r\n") == nil)
        #expect(Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n") == nil)
        #expect(Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r") == nil)
        // No end within the limit.
        #expect(
            Self.parse("HTTP/1.1 200 OK\r\nX: " + String(repeating: "b", count: 300), limit: 256)?.failure == .tooLarge)
        // Exactly `limit` bytes without an end: still waiting.
        #expect(Self.parse(String(repeating: "a", count: 256), limit: 256) == nil)
        #expect(Self.parse(String(repeating: "a", count: 257), limit: 256)?.failure == .tooLarge)
        // A complete head that is longer than the limit.
        #expect(
            Self.parse("HTTP/1.1 200 OK\r\nX: " + String(repeating: "b", count: 300) + "\r\n\r\n", limit: 256)?.failure
                == .tooLarge)
        // A head of exactly `limit` bytes fits, one more does not.
        let head = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "b", count: 256 - 24) + "\r\n\r\n"
        #expect(head.utf8.count == 256)
        #expect(Self.parse(head, limit: 256)?.failure == nil)
        #expect(Self.parse(head, limit: 256) != nil)
        #expect(Self.parse(head, limit: 255)?.failure == .tooLarge)
        // A body beyond the limit does not count against the head.
        let long = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "c", count: 1000)
        #expect(try Self.parse(long, limit: 256)?.get().contentLength == 1000)
    }

    @Test(arguments: [
        // Status line.
        "HTTX/1.1 200 OK\r\n\r\n",  // wrong protocol name
        "HTTPS/1.1 200 OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",  // the protocol name is case-sensitive
        "ICY 200 OK\r\nX: y\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.2 200 OK\r\n\r\n",
        "HTTP/1 200 OK\r\n\r\n",
        "HTTP/1.1200 OK\r\n\r\n",  // no space after the version
        "HTTP/1.1  200 OK\r\n\r\n",  // two spaces
        "HTTP/1.1\t200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",  // two-digit status
        "HTTP/1.1 20\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",  // four digits
        "HTTP/1.1 099 Odd\r\n\r\n",
        "HTTP/1.1 000\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",  // no space before the reason
        "HTTP/1.1 200 O\u{1}K\r\n\r\n",  // control character in the reason
        "HTTP/1.1 200 O\rK\r\n\r\n",  // bare CR in the reason
        " HTTP/1.1 200 OK\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n\r\n",
        // Line endings.
        "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",  // bare LF after the status line
        "HTTP/1.1 200 OK\r\nX: y\nZ: w\r\n\r\n",  // bare LF ending a field line
        "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",  // bare CR inside a field value
        "HTTP/1.1 200 OK\r\nX: y\r\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\r\n\r\n",  // bare CR starting a line
        // Field lines.
        "HTTP/1.1 200 OK\r\nX : y\r\n\r\n",  // space before the colon
        "HTTP/1.1 200 OK\r\nX\t: y\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: y\r\n\r\n",  // empty name
        "HTTP/1.1 200 OK\r\nX y\r\n\r\n",  // no colon
        "HTTP/1.1 200 OK\r\nX(y): z\r\n\r\n",  // not a token
        "HTTP/1.1 200 OK\r\nX: y\r\n folded\r\n\r\n",  // obs-fold
        "HTTP/1.1 200 OK\r\nX: y\r\n\tfolded\r\n\r\n",
        "HTTP/1.1 200 OK\r\n folded\r\n\r\n",  // a "continuation" of the status line
        "HTTP/1.1 200 OK\r\nX: a\u{1}b\r\n\r\n",  // control characters in a value
        "HTTP/1.1 200 OK\r\nX: a\u{7f}b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\u{0}b\r\n\r\n",
        // Content-Length.
        "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",  // empty
        "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n",  // 19 digits
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",  // two different values
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 05x\r\n\r\n",
        // Transfer-Encoding.
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",  // given twice
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",  // with Content-Length
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        // More than eight Connection names, in one line or several.
        "HTTP/1.1 200 OK\r\nConnection: a, b, c, d, e, f, g, h, i\r\n\r\n",
        "HTTP/1.1 200 OK\r\nConnection: a, b, c, d\r\nConnection: keep-alive, e, f, g, h, i\r\n\r\n",
    ])
    func refused(response: String) {
        #expect(Self.parse(response)?.failure == .badRequest, "\(response.debugDescription)")
    }

    struct FramingCase: Sendable, CustomTestStringConvertible {
        var response: String
        var requestWasHEAD = false
        var framing: ResponseHead.Framing

        var testDescription: String { (requestWasHEAD ? "HEAD: " : "") + response.debugDescription }
    }

    @Test(arguments: [
        // A response to HEAD never has a body.
        FramingCase(response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", requestWasHEAD: true, framing: .none),
        FramingCase(
            response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", requestWasHEAD: true, framing: .none),
        FramingCase(response: "HTTP/1.1 200 OK\r\n\r\n", requestWasHEAD: true, framing: .none),
        FramingCase(response: "HTTP/1.0 200 OK\r\n\r\n", requestWasHEAD: true, framing: .none),
        // Neither do 1xx, 204 and 304, whatever their fields say.
        FramingCase(response: "HTTP/1.1 100 Continue\r\n\r\n", framing: .none),
        FramingCase(
            response: "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            framing: .none),
        FramingCase(response: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", framing: .none),
        FramingCase(response: "HTTP/1.1 199 Odd\r\nContent-Length: 5\r\n\r\n", framing: .none),
        FramingCase(response: "HTTP/1.1 204 No Content\r\n\r\n", framing: .none),
        FramingCase(response: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", framing: .none),
        FramingCase(response: "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", framing: .none),
        FramingCase(response: "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", framing: .none),
        // Chunked, then Content-Length, then until close.
        FramingCase(response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", framing: .chunked),
        FramingCase(response: "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: Chunked\r\n\r\n", framing: .chunked),
        FramingCase(response: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", framing: .none),
        FramingCase(response: "HTTP/1.1 200 OK\r\nContent-Length: 000\r\n\r\n", framing: .none),
        FramingCase(response: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", framing: .contentLength(1234)),
        FramingCase(response: "HTTP/1.1 500 Oops\r\nContent-Length: 9\r\n\r\n", framing: .contentLength(9)),
        FramingCase(response: "HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\n", framing: .contentLength(7)),
        FramingCase(
            response: "HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n\r\n",
            framing: .contentLength(999_999_999_999_999_999)),
        FramingCase(response: "HTTP/1.1 200 OK\r\n\r\n", framing: .untilClose),
        FramingCase(response: "HTTP/1.0 200 OK\r\n\r\n", framing: .untilClose),
        FramingCase(response: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", framing: .untilClose),
    ])
    func framing(_ framingCase: FramingCase) throws {
        let head = try #require(try Self.parse(framingCase.response)?.get())
        #expect(head.framing(requestWasHEAD: framingCase.requestWasHEAD) == framingCase.framing)
    }
}
