import Foundation
import TestSupport
import Testing

@testable import GeoFrontServer

/// Proxied exchanges over HTTP/2: every upstream framing reaches an h2 client as HEADERS and DATA
/// with END_STREAM where it ends (chunked de-chunked with its trailers as a last HEADERS frame,
/// 1xx before the final head, 204, a body
/// until the upstream closes, HEAD), and bodies larger than the flow-control windows pass both
/// ways with backpressure.
@Suite(.serialized) struct HTTP2ExchangeTests {
    static func start(upstream: String) async throws -> FrontDoorServer {
        try await ProxyFrontEndTests.start(upstream: upstream, extra: ["server": ["threads": 1, "h2c": true]])
    }

    /// `curl --http2-prior-knowledge -i`: status line, headers and body as curl prints them.
    static func fetch(_ url: String, _ options: [String] = []) async throws -> String {
        try await offThePool {
            let (code, output) = try H2Clients.run(
                ["curl", "-sS", "-i", "--max-time", "20", "--http2-prior-knowledge"] + options + [url])
            guard code == 0 else { throw H2Clients.Failed(description: "curl \(url) exited with \(code)") }
            return output
        }
    }

    @Test func upstreamFramingsReachAnH2Client() async throws {
        let upstream = try ScriptedUpstream([
            .init(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
                    + "Keep-Alive: timeout=5\r\nX-Kept: yes\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
            ),
            .init("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"),
            .init("HTTP/1.0 200 OK\r\nX-Old: yes\r\n\r\nuntil the upstream closes", closeAfter: true),
        ])
        let server = try await Self.start(upstream: upstream.address)
        let base = "http://127.0.0.1:\(server.localAddress!.port!)"

        let chunked = try await Self.fetch(base + "/1")
        #expect(chunked.hasPrefix("HTTP/2 200"), "\(chunked)")
        // The chunked body's trailer section arrives as trailers (curl prints them after the body).
        #expect(chunked.hasSuffix("\r\n\r\nhello worldx-trailer: t\r\n"), "\(chunked)")
        #expect(chunked.contains("x-kept: yes"))
        for gone in ["x-hop", "keep-alive", "connection", "transfer-encoding"] {
            #expect(!chunked.lowercased().contains("\(gone):"), "\(gone) in \(chunked)")
        }

        let hinted = try await Self.fetch(base + "/2")
        #expect(hinted.contains("HTTP/2 103"), "\(hinted)")
        #expect(hinted.contains("HTTP/2 204"), "\(hinted)")
        #expect(hinted.contains("x-a: 1"))

        let old = try await Self.fetch(base + "/3")
        #expect(old.hasPrefix("HTTP/2 200"), "\(old)")
        #expect(old.hasSuffix("\r\n\r\nuntil the upstream closes"), "\(old)")
        #expect(old.contains("x-old: yes"))
        try await server.stop()
        upstream.shutdown()
    }

    @Test func headAndLargeBodiesPassWithFlowControl() async throws {
        let echo = try TestUpstream(name: "echo", .echo)
        let server = try await Self.start(upstream: echo.address)
        let base = "http://127.0.0.1:\(server.localAddress!.port!)"

        let head = try await Self.fetch(base + "/h", ["-I"])
        #expect(head.hasPrefix("HTTP/2 200"), "\(head)")
        #expect(head.contains("content-length:"), "\(head)")
        #expect(echo.seen.last?.method == "HEAD")

        // 3 MB up (far past the 64 KiB windows) and 5 MB down.
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let upload = try folder.write("upload.bin", String(repeating: "u", count: 3_000_000))
        let posted = try await Self.fetch(
            base + "/up", ["--data-binary", "@\(upload)", "-o", "/dev/null", "-w", "%{http_code}"])
        #expect(posted.hasSuffix("200"), "\(posted)")
        #expect(echo.seen.last?.bodyBytes == 3_000_000)

        echo.behaviour = .download(bytes: 5_000_000)
        let downloaded = try await offThePool {
            try H2Clients.run([
                "curl", "-sS", "--max-time", "60", "--http2-prior-knowledge", "-o", "/dev/null", "-w",
                "%{http_code} %{http_version} %{size_download}", base + "/down",
            ])
        }
        #expect(downloaded.output == "200 2 5000000")
        try await server.stop()
        echo.shutdown()
    }

    /// The access log says which requests came over HTTP/2, proxied and answered here alike.
    @Test func theAccessLogNamesTheProtocol() async throws {
        let echo = try TestUpstream(name: "echo", .echo)
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let logPath = "\(folder.path)/access.log"
        let server = try await ProxyFrontEndTests.start(
            upstream: echo.address,
            extra: [
                "server": ["threads": 1, "h2c": true], "access_log": ["path": logPath, "format": "json"],
                // Two requests, then 429 (a token every 1000 s).
                "rate_limit": ["requests_per_second": 0.001, "burst": 2],
            ])
        let base = "http://127.0.0.1:\(server.localAddress!.port!)"
        _ = try await Self.fetch(base + "/proxied")
        _ = try await offThePool { try H2Clients.curl(base + "/one", ["--http1.1"]) }
        // A request answered by the front end itself: 429.
        let refused = try await Self.fetch(base + "/third")
        try await server.stop()  // flushes the log
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        #expect(lines.map { $0["target"] as? String } == ["/proxied", "/one", "/third"], "\(refused)")
        #expect(lines.map { $0["protocol"] as? String } == ["h2", "http/1.1", "h2"])
        #expect(lines.map { $0["status"] as? Int } == [200, 200, 429], "\(lines)")
        echo.shutdown()
    }
}
