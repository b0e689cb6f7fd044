import NIOCore
import NIOHPACK
import NIOHTTP2
import Testing

@testable import GeoFrontServer

/// ``H2ResponseFramer`` turns response heads into HEADERS fields and chooses how HPACK keeps
/// each: fields whose values tend to repeat are indexed; any other only when the connection's
/// previous response had it with the same value; `set-cookie` never.
@Suite struct H2ResponseFramerTests {
    /// The fields of the HEADERS frame `head` becomes, with `previous` carried over.
    static func frame(_ head: String, previous: inout HPACKHeaders?) throws -> HPACKHeaders {
        var framer = H2ResponseFramer()
        var frames: [HTTP2Frame.FramePayload] = []
        try framer.consume(ByteBuffer(string: head), previous: &previous) { frames.append($0) }
        guard case .headers(let headers) = frames.first else { throw H2Clients.Failed(description: "no HEADERS") }
        return headers.headers
    }

    static func indexing(_ fields: HPACKHeaders, _ name: String) -> HPACKIndexing? {
        fields.first { $0.name == name }?.indexable
    }

    @Test func repeatedValuesAreIndexedAndOthersAreNot() throws {
        var previous: HPACKHeaders?
        let redirect = { (path: String) in
            "HTTP/1.1 302 Found\r\nLocation: https://eu.example.test\(path)\r\nCache-Control: no-store\r\n"
                + "X-GeoFront-Region: eu\r\nContent-Length: 0\r\n\r\n"
        }
        let first = try Self.frame(redirect("/a"), previous: &previous)
        #expect(Self.indexing(first, "location") == .nonIndexable)
        #expect(Self.indexing(first, "content-length") == .nonIndexable)
        #expect(Self.indexing(first, "cache-control") == .indexable)
        #expect(Self.indexing(first, "x-geofront-region") == .indexable)
        #expect(first.first?.name == ":status" && first.first?.value == "302")

        // The same answer again: its repeated values are indexed now.
        let again = try Self.frame(redirect("/a"), previous: &previous)
        #expect(Self.indexing(again, "location") == .indexable)
        #expect(Self.indexing(again, "content-length") == .indexable)

        // Another path: its location is not.
        let other = try Self.frame(redirect("/b"), previous: &previous)
        #expect(Self.indexing(other, "location") == .nonIndexable)
        #expect(Self.indexing(other, "content-length") == .indexable)
    }

    @Test func setCookieIsNeverIndexedEvenWhenRepeated() throws {
        var previous: HPACKHeaders?
        let head = "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"
        _ = try Self.frame(head, previous: &previous)
        let again = try Self.frame(head, previous: &previous)
        #expect(Self.indexing(again, "set-cookie") == .neverIndexed)
        #expect(Self.indexing(again, "content-type") == .indexable)
    }
}
