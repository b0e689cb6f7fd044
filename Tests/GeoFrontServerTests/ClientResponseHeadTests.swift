import GeoFrontCore
import NIOCore
import Testing

@testable import GeoFrontServer

/// The client's response head, byte for byte: the upstream's kept lines in order (copied in runs),
/// the status line as HTTP/1.1, then the lines GeoFront adds.
@Suite struct ClientResponseHeadTests {
    private static func write(
        _ upstream: String, strip: [String] = [], closeClient: Bool = false, http10: Bool = false,
        cacheStatus: CacheStatus? = nil, setCookie: String? = nil
    ) throws -> String {
        let bytes = Array(upstream.utf8)
        return try bytes.withUnsafeBytes { raw in
            var head = ResponseHead()
            guard case .complete = try ResponseHeadParser.parse(raw, limit: 8192, into: &head) else {
                throw RequestHeadError.badRequest
            }
            var out = ClientResponseHead.write(
                raw, head: head, region: Array("eu-west".utf8), strip: strip.map { Array($0.utf8) },
                closeClient: closeClient, http10: http10, dechunk: false, setCookie: setCookie.map { Array($0.utf8) },
                cacheStatus: cacheStatus, extraCapacity: 0, allocator: ByteBufferAllocator())
            return out.readString(length: out.readableBytes)!
        }
    }

    @Test func keptLinesInOrderAndTheAddedOnes() throws {
        let upstream =
            "HTTP/1.1 200 OK\r\nServer: origin\r\nDate: today\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
            + "Content-Type: text/plain\r\nKeep-Alive: timeout=5\r\nX-GeoFront-Region: spoofed\r\nContent-Length: 2\r\n\r\n"
        #expect(
            try Self.write(upstream, strip: ["server"])
                == "HTTP/1.1 200 OK\r\nDate: today\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                + "X-GeoFront-Region: eu-west\r\n\r\n")
        #expect(
            try Self.write(
                upstream, closeClient: true, cacheStatus: CacheStatus(forward: .uriMiss, forwardStatus: 200),
                setCookie: "Set-Cookie: s=1\r\n")
                == "HTTP/1.1 200 OK\r\nServer: origin\r\nDate: today\r\nContent-Type: text/plain\r\n"
                + "Content-Length: 2\r\nSet-Cookie: s=1\r\nCache-Status: GeoFront; fwd=uri-miss; fwd-status=200\r\n"
                + "X-GeoFront-Region: eu-west\r\nConnection: close\r\n\r\n")
    }

    @Test func anHTTP10StatusLineIsWrittenAsHTTP11() throws {
        #expect(
            try Self.write("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", http10: true)
                == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nX-GeoFront-Region: eu-west\r\n"
                + "Connection: keep-alive\r\n\r\n")
    }

    @Test func anInformationalHeadGetsNoAddedLines() throws {
        #expect(
            try Self.write("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
                == "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
    }
}
