import GeoFrontCore
import GeoIP
import NIOCore
import Testing

@testable import GeoFrontServer

/// The upstream's request head, byte for byte, and the reserved bound at its worst case.
@Suite struct UpstreamRequestHeadTests {
    private static func write(
        _ request: String, trusted: Bool, hostPolicy: HostHeaderPolicy = .client, peer: String = "192.0.2.7"
    ) throws -> (text: String, needsHost: Bool) {
        var writer = UpstreamRequestHead(secure: false)
        writer.setPeer(try #require(IPAddress(peer)))
        let bytes = Array(request.utf8)
        return try bytes.withUnsafeBytes { raw in
            var head = RequestHead()
            guard case .complete = try RequestHeadParser.parse(raw, limit: 65_536, into: &head) else {
                throw RequestHeadError.badRequest
            }
            let target = head.target.bytes(in: raw)
            var out = writer.write(
                raw, head: head, method: head.method.bytes(in: raw), path: target, trusted: trusted,
                hostPolicy: hostPolicy, allocator: ByteBufferAllocator())
            return (out.readString(length: out.readableBytes)!, writer.needsHost)
        }
    }

    @Test func keptLinesThenTheRebuiltOnes() throws {
        let request =
            "GET /a?b=1 HTTP/1.1\r\nHost: shop.example\r\nAccept: */*\r\nConnection: keep-alive, X-Hop\r\n"
            + "X-Hop: 1\r\nUser-Agent: t\r\nX-Forwarded-For: 203.0.113.9\r\nVia: 1.0 edge\r\nCookie: c=1\r\n\r\n"
        let trusted = try Self.write(request, trusted: true)
        #expect(
            trusted.text
                == "GET /a?b=1 HTTP/1.1\r\nAccept: */*\r\nUser-Agent: t\r\nCookie: c=1\r\n"
                + "X-Forwarded-For: 203.0.113.9, 192.0.2.7\r\nForwarded: for=192.0.2.7;host=shop.example;proto=http\r\n"
                + "X-Forwarded-Proto: http\r\nX-Forwarded-Host: shop.example\r\nVia: 1.0 edge, 1.1 geofront\r\n"
                + "Host: shop.example\r\n\r\n")
        #expect(!trusted.needsHost)
        let untrusted = try Self.write(request, trusted: false, hostPolicy: .fixed("origin.internal"))
        #expect(untrusted.text.contains("X-Forwarded-For: 192.0.2.7\r\n"))
        #expect(untrusted.text.hasSuffix("Host: origin.internal\r\n\r\n"))
        #expect(try Self.write(request, trusted: false, hostPolicy: .upstream).needsHost)
    }

    /// A `Host` that fills most of the head comes out three times, and one-byte list separators
    /// come out as two: the reserved bound holds (a miss would trap).
    @Test func theWorstCaseFitsTheBound() throws {
        let host = String(repeating: "h", count: 30_000)
        let list = Array(repeating: "1", count: 2_000).joined(separator: ",")
        let request =
            "GET / HTTP/1.1\r\nHost: \(host)\r\nX-Forwarded-For: \(list)\r\nVia: \(list)\r\nForwarded: \(list)\r\n\r\n"
        let written = try Self.write(request, trusted: true, peer: "2001:db8::1")
        #expect(written.text.components(separatedBy: host).count == 4)
        #expect(written.text.hasSuffix("Host: \(host)\r\n\r\n"))
    }
}
