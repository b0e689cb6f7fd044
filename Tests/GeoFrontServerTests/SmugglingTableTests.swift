import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import TestSupport
import Testing

/// Request smuggling and framing cases, run through GeoFront's own head parser and, as the
/// reference, through SwiftNIO's llhttp-based `HTTPRequestDecoder`: whatever the reference
/// refuses, GeoFront must refuse too (it may be stricter, never more lenient).
@Suite struct SmugglingTableTests {
    static let cases: [(name: String, request: String)] = [
        ("CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("TE and CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"),
        ("two CLs", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"),
        ("CL with sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd"),
        ("CL with space inside", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\n"),
        ("negative CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
        ("TE not chunked last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        ("space before colon", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"),
        ("bare LF in header", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"),
        ("bare CR in header", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"),
        ("NUL in header value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n"),
        ("space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("bad version", "GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
        ("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        ("no request line", "\r\n\r\n\r\n\r\n"),
        (
            "invalid chunk size",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n"
        ),
        (
            "chunk size overflow",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n"
        ),
        (
            "chunk without CRLF",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n"
        ),
        ("plain GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("chunked POST", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    ]

    /// Whether NIOHTTP1's decoder refuses the bytes (an error before or after the head).
    static func referenceRefuses(_ request: String) -> Bool {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        defer { _ = try? channel.finish() }
        do {
            try channel.writeInbound(ByteBuffer(string: request))
            return false
        } catch {
            return true
        }
    }

    /// Whether GeoFront refuses them: the head parser, then the chunked skipper for the body.
    static func geoFrontRefuses(_ request: String) -> Bool {
        var bytes = Array(request.utf8)
        return bytes.withUnsafeMutableBytes { raw -> Bool in
            let buffer = UnsafeRawBufferPointer(raw)
            var head = RequestHead()
            do throws(RequestHeadError) {
                var offset = 0
                // Up to two empty lines before a request line are tolerated (as llhttp does).
                guard try RequestHeadParser.parse(buffer, limit: 8192, into: &head) == .complete else { return true }
                offset = head.length
                if head.body == .chunked {
                    var skipper = ChunkedBodySkipper()
                    _ = try skipper.consume(UnsafeRawBufferPointer(rebasing: buffer[offset...]))
                }
                return false
            } catch {
                return true
            }
        }
    }

    @Test func geoFrontIsNeverMoreLenientThanTheReference() {
        var table: [String] = []
        for (name, request) in Self.cases {
            let reference = Self.referenceRefuses(request)
            let geofront = Self.geoFrontRefuses(request)
            table.append(
                "\(name): reference \(reference ? "refuses" : "accepts"), GeoFront \(geofront ? "refuses" : "accepts")")
            if reference { #expect(geofront, "\(name): the reference refuses it, GeoFront accepts it") }
        }
        // The well-formed ones must pass on both sides (the table is not vacuous).
        #expect(!Self.geoFrontRefuses(Self.cases.first { $0.name == "plain GET" }!.request))
        #expect(!Self.referenceRefuses(Self.cases.first { $0.name == "chunked POST" }!.request))
        #expect(!Self.geoFrontRefuses(Self.cases.first { $0.name == "chunked POST" }!.request))
        print(table.joined(separator: "\n"))
    }
}

/// The same table, live: each case is sent to a running GeoFront, followed by a second request
/// for `/smuggled`, on the plain and the TLS listener, redirecting and proxying. A case the
/// reference refuses gets at most one answer and then the connection closes: the bytes behind it
/// are never taken for a request (no answer for `/smuggled`, and in proxy mode the upstream never
/// sees it). The well-formed cases get both answers.
@Suite(.serialized) struct LiveSmugglingTableTests {
    @Test(arguments: ["redirect", "proxy"]) func bothListenersRefuseWhatTheReferenceRefuses(mode: String) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let certificates = try TestCertificates(in: folder)
        let upstream = try TestUpstream(name: "u")
        defer { upstream.shutdown() }
        let target =
            mode == "proxy"
            ? #""upstreams": ["\#(upstream.address)"]"# : #""redirect_url": "https://eu.example.test""#
        let json = """
            {"listen": "127.0.0.1:0", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "server": {"threads": 1}, "proxy": {"max_attempts": 1},
             "tls": {"listen": "127.0.0.1:0",
                     "certificates": [{"certificate": "\(certificates.serverCertificate)", "private_key": "\(certificates.serverKey)"}]},
             "regions": [{"name": "eu", "location": {"latitude": 50, "longitude": 8}, "mode": "\(mode)", \(target)}]}
            """
        var logger = Logger(label: "live-smuggling")
        logger.logLevel = .critical
        let config = try ConfigLoader.parse(Data(json.utf8), baseDirectory: "/")
        let server = try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
        let plainPort = server.localAddress!.port!
        let tlsPort = server.secureAddress!.port!
        let follower = "GET /smuggled HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        for (name, request) in SmugglingTableTests.cases {
            let bytes = Array((request + follower).utf8)
            let plain = try RawHTTPClient(port: plainPort, timeoutSeconds: 10)
            var smuggledBefore = upstream.seen.filter { $0.uri == "/smuggled" }.count
            plain.send(bytes)
            let overPlain = (try? plain.readToClose()) ?? []
            let upstreamSawPlain = upstream.seen.filter { $0.uri == "/smuggled" }.count > smuggledBefore
            smuggledBefore = upstream.seen.filter { $0.uri == "/smuggled" }.count
            let overTLS = try RawTLSClient.exchange(port: tlsPort, bytes)
            let upstreamSawTLS = upstream.seen.filter { $0.uri == "/smuggled" }.count > smuggledBefore
            #expect(overTLS.closed, "\(name): the TLS connection did not close")
            for (listener, received, upstreamSaw) in [
                ("plain", overPlain, upstreamSawPlain), ("TLS", overTLS.received, upstreamSawTLS),
            ] {
                let text = String(decoding: received, as: UTF8.self)
                let answers = text.components(separatedBy: "HTTP/1.1 ").count - 1
                let served =
                    mode == "proxy" ? upstreamSaw : text.contains("Location: https://eu.example.test/smuggled")
                if SmugglingTableTests.referenceRefuses(request) {
                    #expect(answers <= 1, "\(name) over \(listener): \(answers) answers:\n\(text)")
                    #expect(!served, "\(name) over \(listener): the follower was served")
                    if answers == 1 && !text.hasPrefix("HTTP/1.1 302 ") && !text.hasPrefix("HTTP/1.1 200 ") {
                        #expect(text.hasPrefix("HTTP/1.1 400 "), "\(name) over \(listener): \(text)")
                    }
                } else if ["plain GET", "chunked POST"].contains(name) {
                    #expect(answers == 2 && served, "\(name) over \(listener): \(answers) answers:\n\(text)")
                } else {
                    // Accepted by the reference, maybe refused by GeoFront (stricter is allowed):
                    // when the follower is served it is one request, and when it is not, neither
                    // is anything after a refusal.
                    #expect(served ? answers <= 2 : answers <= 1, "\(name) over \(listener):\n\(text)")
                    // What the head parser refuses on its own (more blank lines before a request
                    // line than the two it skips), the listener refuses too.
                    if SmugglingTableTests.geoFrontRefuses(request) {
                        #expect(!served && answers <= 1, "\(name) over \(listener):\n\(text)")
                    }
                }
            }
        }
        try await server.stop()
    }
}
