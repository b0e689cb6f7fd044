import Foundation
import GeoFrontCore
import TestSupport
import Testing

@testable import GeoFrontServer

/// HTTP/2 from clients: h2 through ALPN on the TLS listener, h2c with prior knowledge on the plain
/// one, HTTP/1.1 beside both, every stream through the same engine. Real clients: `curl`,
/// `nghttp`, and `h2probe.py` for hand-made frame sequences (RFC 9113 §10's attacks, stream
/// and connection errors). Each attack ends with the connection closed as RFC 9113 says, and the
/// server still answers another client afterwards.
///
/// The rig: eu-central (where 127.0.0.1, which GeoIP does not know, goes) proxies to an echo
/// upstream; eu-west (London, by `X-Forwarded-For` from the trusted 127.0.0.2) to one that never
/// answers; us-east (Seattle) redirects.
@Suite(.serialized) struct HTTP2ClientTests {
    struct Rig {
        let folder: TemporaryDirectory
        let proxy: ProxyRig
        var port: Int { proxy.port }
        var securePort: Int { proxy.server.secureAddress!.port! }
        var metrics: String { proxy.server.metrics.exposition() }

        func stop() async throws {
            try await proxy.stop()
            folder.remove()
        }
    }

    static func start(server: [String: Any] = [:], held: Bool = false, extra: [String: Any] = [:]) async throws
        -> Rig
    {
        let folder = try TemporaryDirectory()
        let certificates = try TestCertificates(in: folder)
        var serverSection: [String: Any] = ["h2c": true]
        for (key, value) in server { serverSection[key] = value }
        let proxy = try await ProxyRig(
            upstreams: ["eu-central": [("a", held ? .held : .echo)], "eu-west": [("w", .hang)]],
            server: serverSection,
            extra: extra.merging([
                "tls": [
                    "listen": "127.0.0.1:0",
                    "certificates": [
                        ["certificate": certificates.serverCertificate, "private_key": certificates.serverKey]
                    ],
                ]
            ]) { old, _ in old })
        return Rig(folder: folder, proxy: proxy)
    }

    /// A plain request over h2c answered by the echo upstream: the server still serves.
    static func stillServes(_ rig: Rig) async throws -> Bool {
        let port = rig.port
        let answer = try await offThePool {
            try H2Clients.curl("http://127.0.0.1:\(port)/after", ["--http2-prior-knowledge"])
        }
        return answer.status == 200 && answer.version == "2" && answer.echo?["uri"] as? String == "/after"
    }

    /// The connection ended as RFC 9113 says for a connection error: GOAWAY with `code`, then
    /// closed; the closure counted once in `geofront_h2_goaway_total` as `reason`; and the server
    /// still serves a new connection.
    static func expectConnectionEnded(
        _ report: H2Clients.Probe, rig: Rig, code: Int, reason: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        #expect(report.goaway == code, sourceLocation: sourceLocation)
        #expect(report.closed, sourceLocation: sourceLocation)
        #expect(
            rig.metrics.contains("geofront_h2_goaway_total{reason=\"\(reason)\"} 1"), sourceLocation: sourceLocation)
        #expect(try await stillServes(rig), sourceLocation: sourceLocation)
    }

    /// Over HTTP/2 a redirect's HEADERS are made from its fields directly, not from an HTTP/1.1
    /// head: the same fields either way (lower-case over h2, without `Connection`), for paths
    /// with and without a query and percent-encoded bytes.
    @Test func aRedirectHasTheSameFieldsOverH2AsOverHTTP1() async throws {
        let rig = try await Self.start()
        let (port, securePort) = (rig.port, rig.securePort)
        let seattle = ["--interface", "127.0.0.2", "-H", "X-Forwarded-For: \(ProxyRig.seattle)", "-D", "-"]
        func fields(_ answer: H2Clients.Curl) -> [String] {
            let head = answer.body.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
            return head.dropFirst().compactMap { line -> String? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                let name = line[..<colon].lowercased()
                return name == "connection" ? nil : name + ":" + line[line.index(after: colon)...]
            }.sorted()
        }
        for path in ["/p?q=1", "/a/b%20c?x=%22y%22", "/"] {
            let overHTTP1 = try await offThePool {
                try H2Clients.curl("http://127.0.0.1:\(port)\(path)", ["--http1.1"] + seattle)
            }
            let overH2 = try await offThePool {
                try H2Clients.curl("https://127.0.0.1:\(securePort)\(path)", ["--http2"] + seattle)
            }
            #expect(overH2.version == "2" && overHTTP1.version == "1.1")
            #expect(overH2.status == overHTTP1.status && (300..<400).contains(overH2.status))
            #expect(overH2.location == "https://us-east.example.test\(path)")
            #expect(fields(overH2) == fields(overHTTP1), "\(path)")
            #expect(fields(overH2).contains("x-geofront-region: us-east"))
            #expect(fields(overH2).contains("content-length: 0"))
        }
        try await rig.stop()
    }

    @Test func curlGetsTheSameAnswersOverH2AndHTTP1() async throws {
        let rig = try await Self.start()
        let plain = "http://127.0.0.1:\(rig.port)"
        let secure = "https://127.0.0.1:\(rig.securePort)"
        let ways: [(url: String, options: [String], version: String)] = [
            (plain, ["--http1.1"], "1.1"), (plain, ["--http2-prior-knowledge"], "2"),
            (secure, ["--http1.1"], "1.1"), (secure, ["--http2"], "2"),
        ]
        let seattle = ["--interface", "127.0.0.2", "-H", "X-Forwarded-For: \(ProxyRig.seattle)"]
        var redirects: [H2Clients.Curl] = []
        var proxied: [H2Clients.Curl] = []
        var posted: [H2Clients.Curl] = []
        for way in ways {
            let redirect = try await offThePool { try H2Clients.curl(way.url + "/p?q=1", way.options + seattle) }
            let get = try await offThePool { try H2Clients.curl(way.url + "/x?y=1", way.options) }
            let post = try await offThePool {
                try H2Clients.curl(way.url + "/upload", way.options + ["--data-binary", "hello world"])
            }
            #expect(redirect.version == way.version && get.version == way.version && post.version == way.version)
            redirects.append(redirect)
            proxied.append(get)
            posted.append(post)
        }
        for redirect in redirects {
            #expect(redirect.status == redirects[0].status)
            #expect(redirect.location == "https://us-east.example.test/p?q=1")
        }
        #expect((300..<400).contains(redirects[0].status))
        for (get, post) in zip(proxied, posted) {
            #expect(get.status == 200)
            #expect(get.echo?["uri"] as? String == "/x?y=1")
            #expect(get.echo?["name"] as? String == "a")
            #expect(post.status == 200)
        }
        let seen = rig.proxy.upstreams["eu-central"]![0].seen
        let uploads = seen.filter { $0.uri == "/upload" }
        #expect(uploads.count == 4)
        #expect(uploads.allSatisfy { $0.method == "POST" && $0.bodyBytes == 11 })
        // Host comes from :authority.
        #expect(seen.allSatisfy { head in head.headers.contains { $0.0.lowercased() == "host" } })
        #expect(rig.metrics.contains("geofront_h2_connections_total 6"))
        // Each request counted by its protocol (for /status and the metrics).
        let byProtocol = await rig.proxy.server.requestsByProtocol()
        #expect(byProtocol.http1 == 6 && byProtocol.h2 == 6, "\(byProtocol)")
        rig.proxy.server.metrics.recordRequestsByProtocol(byProtocol)
        #expect(rig.metrics.contains(#"geofront_requests_by_protocol_total{protocol="h2"} 6"#))
        #expect(rig.metrics.contains(#"geofront_requests_by_protocol_total{protocol="http/1.1"} 6"#))
        try await rig.stop()
    }

    @Test func aBodyWithoutLengthReachesTheUpstreamChunked() async throws {
        let rig = try await Self.start()
        let port = rig.port
        let report = try await offThePool { try H2Clients.probe("post", port: port) }
        #expect(report.statuses["1"] == 200)
        let upload = try #require(rig.proxy.upstreams["eu-central"]![0].seen.last)
        #expect(upload.method == "POST" && upload.bodyBytes == 11)
        try await rig.stop()
    }

    /// The client address of a PROXY header reaches every stream's decision.
    @Test func aProxyHeaderAddressRoutesTheStreams() async throws {
        let rig = try await Self.start(extra: ["proxy_protocol": true])
        let port = rig.port
        let report = try await offThePool {
            try H2Clients.probe("get", port: port, source: "127.0.0.2", proxyHeader: ProxyRig.seattle)
        }
        // Seattle: us-east, which redirects (127.0.0.2's own address would go to eu-central).
        #expect(report.statuses["1"].map { (300..<400).contains($0) } == true)
        try await rig.stop()
    }

    @Test func nghttpRunsConcurrentStreamsOnOneConnection() async throws {
        let rig = try await Self.start()
        let port = rig.port
        let statuses = try await offThePool { try H2Clients.nghttp("http://127.0.0.1:\(port)/n", count: 20) }
        #expect(statuses == Array(repeating: 200, count: 20))
        #expect(rig.metrics.contains("geofront_h2_connections_total 1"))
        #expect(rig.metrics.contains("geofront_h2_streams_total 20"))
        try await rig.stop()
    }

    @Test func aBadPrefaceGetsGoAwayProtocolError() async throws {
        let rig = try await Self.start()
        let securePort = rig.securePort
        let report = try await offThePool { try H2Clients.probe("bad-preface", port: securePort, tls: true) }
        // On the plain listener, bytes that stop matching the preface are HTTP/1.1's: a 400.
        let client = try RawHTTPClient(port: rig.port)
        let refused = try client.exchange("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")
        #expect(refused.status == 400)
        try await Self.expectConnectionEnded(report, rig: rig, code: 1, reason: "bad_preface")
        try await rig.stop()
    }

    @Test func malformedRequestsResetOnlyTheirStream() async throws {
        let rig = try await Self.start()
        let port = rig.port
        let report = try await offThePool { try H2Clients.probe("stream-error", port: port) }
        // PROTOCOL_ERROR for each malformed request, none answered.
        let malformed = stride(from: 1, through: 45, by: 2).map(String.init)
        #expect(report.resets == Dictionary(uniqueKeysWithValues: malformed.map { ($0, 1) }))
        #expect(report.statuses.keys.sorted() == ["47"])
        #expect(report.statuses["47"] == 200)
        #expect(report.goaway == nil)
        #expect(try await Self.stillServes(rig))
        try await rig.stop()
    }

    @Test func aFloodOfMalformedRequestsGetsGoAwayEnhanceYourCalm() async throws {
        // NIOHTTP2's own header validation (whose stream errors it limits) is off: GeoFront resets
        // malformed requests itself and keeps the same bound, 200 per `h2_flood_window_ms`.
        let rig = try await Self.start(server: ["h2_flood_window_ms": 3_600_000])
        let port = rig.port
        let report = try await offThePool { try H2Clients.probe("malformed-flood", port: port, count: 260) }
        #expect(report.resets.count > 200)
        #expect(report.statuses.isEmpty)
        try await Self.expectConnectionEnded(report, rig: rig, code: 11, reason: "stream_error_flood")
        try await rig.stop()
    }

    @Test func aFlowControlViolationEndsTheConnection() async throws {
        let rig = try await Self.start()
        let port = rig.port
        let report = try await offThePool { try H2Clients.probe("flow-control", port: port) }
        try await Self.expectConnectionEnded(report, rig: rig, code: 3, reason: "flow_control_error")
        try await rig.stop()
    }

    @Test func rapidResetGetsGoAwayEnhanceYourCalm() async throws {
        let rig = try await Self.start(server: ["h2_max_resets": 20, "h2_flood_window_ms": 3_600_000])
        let port = rig.port
        let report = try await offThePool { try H2Clients.probe("rapid-reset", port: port, count: 100) }
        try await Self.expectConnectionEnded(report, rig: rig, code: 11, reason: "rapid_reset")
        try await rig.stop()
    }

    /// PING, SETTINGS and empty DATA floods (RFC 9113 §10.5): GOAWAY ENHANCE_YOUR_CALM.
    @Test(arguments: [
        ("ping-flood", "control_frame_flood"), ("settings-flood", "control_frame_flood"),
        ("empty-frames", "empty_frame_flood"),
    ])
    func floodsGetGoAwayEnhanceYourCalm(scenario: String, reason: String) async throws {
        let rig = try await Self.start(server: ["h2_max_control_frames": 50, "h2_flood_window_ms": 3_600_000])
        let port = rig.port
        let report = try await offThePool { try H2Clients.probe(scenario, port: port, count: 200) }
        try await Self.expectConnectionEnded(report, rig: rig, code: 11, reason: reason)
        try await rig.stop()
    }

    @Test func aHeaderListOverTheHeadLimitEndsTheConnection() async throws {
        let rig = try await Self.start(server: ["max_request_head_bytes": 8192])
        let port = rig.port
        let report = try await offThePool { try H2Clients.probe("big-header", port: port, count: 20_000) }
        try await Self.expectConnectionEnded(report, rig: rig, code: 1, reason: "header_block_too_large")
        try await rig.stop()
    }

    /// A stream the client resets cancels the upstream request it started.
    @Test func aResetStreamCancelsItsUpstreamRequest() async throws {
        let rig = try await Self.start()
        let hanging = rig.proxy.upstreams["eu-west"]![0]
        let probe = try H2Clients.Running(
            "reset", port: rig.port, options: ["--source", "127.0.0.2", "--xff", ProxyRig.london])
        #expect(try await offThePool { probe.readLine() } == "open")
        try await waitUntil("the upstream has the request") { hanging.seen.count == 1 && hanging.openConnections == 1 }
        probe.proceed()
        #expect(try await offThePool { probe.readLine() } == "reset")
        try await waitUntil("the upstream connection is closed") { hanging.openConnections == 0 }
        probe.proceed()
        _ = try await offThePool { try probe.finish() }
        #expect(try await Self.stillServes(rig))
        try await rig.stop()
    }

    /// `server.send_timeout_ms` per stream: a stream whose window the client keeps shut is
    /// reset, its upstream request cancelled, and the connection goes on.
    @Test func aStalledStreamIsResetAfterTheSendTimeout() async throws {
        let rig = try await Self.start(server: ["send_timeout_ms": 300])
        let upstream = rig.proxy.upstreams["eu-central"]![0]
        upstream.behaviour = .download(bytes: 10_000_000)
        let port = rig.port
        let report = try await offThePool { try H2Clients.probe("stalled", port: port) }
        #expect(report.resets["1"] != nil)
        #expect(report.statuses["1"] == 200)
        #expect(report.goaway == nil)
        #expect(rig.metrics.contains("geofront_send_timeouts_total 1"))
        try await waitUntil("the upstream download is cancelled") { upstream.openConnections == 0 }
        upstream.behaviour = .echo
        #expect(try await Self.stillServes(rig))
        try await rig.stop()
    }

    @Test func aContinuationFloodEndsTheConnection() async throws {
        let rig = try await Self.start()
        let port = rig.port
        let report = try await offThePool { try H2Clients.probe("continuation", port: port, count: 100) }
        try await Self.expectConnectionEnded(report, rig: rig, code: 11, reason: "continuation_flood")
        try await rig.stop()
    }

    @Test func streamsBeyondTheLimitAreRefused() async throws {
        let rig = try await Self.start(server: ["h2_max_concurrent_streams": 2])
        let port = rig.port
        let report = try await offThePool {
            try H2Clients.probe("max-streams", port: port, source: "127.0.0.2", xff: ProxyRig.london, count: 2)
        }
        #expect(report.resets["5"] == 7)  // REFUSED_STREAM
        #expect(report.resets["1"] == nil && report.resets["3"] == nil)
        #expect(report.goaway == nil)
        // Once the client has acknowledged the limit, ignoring it ends the connection.
        let ignored = try await offThePool {
            try H2Clients.probe(
                "max-streams-after-ack", port: port, source: "127.0.0.2", xff: ProxyRig.london, count: 2)
        }
        #expect(ignored.goaway == 1)
        #expect(ignored.closed)
        #expect(try await Self.stillServes(rig))
        try await rig.stop()
    }

    /// A graceful stop: GOAWAY (RFC 9113 §6.8's two-step, NO_ERROR), the open stream finishes, a
    /// stream opened after the final GOAWAY is not served, then the connection closes.
    /// `server.idle_timeout_ms` applies to an HTTP/2 connection without an open stream: not while
    /// stream 1 waits on its upstream (an HTTP/1.1 connection that went idle later is closed
    /// first), and once it is answered the connection gets GOAWAY `NO_ERROR`, is closed, and is
    /// counted as `idle`.
    @Test func anIdleConnectionGetsGoAwayButNotWhileAStreamIsOpen() async throws {
        let rig = try await Self.start(server: ["idle_timeout_ms": 300], held: true)
        let upstream = rig.proxy.upstreams["eu-central"]![0]
        let probe = try H2Clients.Running("idle", port: rig.port)
        #expect(try await offThePool { probe.readLine() } == "open")
        try await waitUntil("the upstream has stream 1's request") { upstream.seen.count == 1 }
        let port = rig.port
        let http1Closed = try await offThePool {
            // Seattle: us-east, which redirects (the held upstream does not answer it).
            let client = try RawHTTPClient(port: port, source: "127.0.0.2", timeoutSeconds: 60)
            let answer = try client.exchange(
                "GET /redirected HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: \(ProxyRig.seattle)\r\n\r\n")
            return answer.status == 302 && client.waitForClose()
        }
        #expect(http1Closed)
        upstream.release()
        #expect(try await offThePool { probe.readLine() } == "answered")
        // The connection manager's graceful close, as for a drain: GOAWAY `NO_ERROR` for every
        // stream and a PING; with no stream open, the connection closes once the PING is answered.
        #expect(try await offThePool { probe.readLine() } == "goaway 0 2147483647")
        let report = try await offThePool { try probe.finish() }
        #expect(report.goaway == 0)
        #expect(report.statuses["1"] == 200)
        #expect(report.closed)
        #expect(rig.metrics.contains(#"geofront_h2_goaway_total{reason="idle"} 1"#))
        for list in rig.proxy.upstreams.values { for upstream in list { upstream.shutdown() } }
        rig.folder.remove()
    }

    @Test func drainSendsGoAwayAndLetsOpenStreamsFinish() async throws {
        let rig = try await Self.start(server: ["shutdown_grace_ms": 600_000], held: true)
        let upstream = rig.proxy.upstreams["eu-central"]![0]
        let probe = try H2Clients.Running("drain", port: rig.port)
        #expect(try await offThePool { probe.readLine() } == "open")
        try await waitUntil("the upstream has stream 1's request") { upstream.seen.count == 1 }
        let server = rig.proxy.server
        let stopping = Task { try await server.stop() }
        #expect(try await offThePool { probe.readLine() } == "goaway 0 2147483647")
        #expect(try await offThePool { probe.readLine() } == "goaway 0 1")
        #expect(try await offThePool { probe.readLine() } == "sent 3")
        upstream.release()
        let report = try await offThePool { try probe.finish() }
        #expect(report.statuses["1"] == 200)
        #expect(report.statuses["3"] == nil)
        #expect(report.closed)
        try await stopping.value
        #expect(upstream.seen.count == 1)
        #expect(rig.metrics.contains(#"geofront_h2_goaway_total{reason="shutdown"} 1"#))
        for list in rig.proxy.upstreams.values { for upstream in list { upstream.shutdown() } }
        rig.folder.remove()
    }
}
