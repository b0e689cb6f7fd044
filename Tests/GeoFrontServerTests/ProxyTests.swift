import Dispatch
import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct ProxyTests {
    static let standard: [String: [(String, TestUpstream.Behaviour)]] = [
        "eu-west": [("a1", .echo), ("a2", .echo)], "eu-central": [("b1", .echo)], "us-east": [("c1", .echo)],
    ]

    /// The origin's `Server` field does not reach clients by default; `server_header: pass` lets
    /// it through.
    @Test func originServerHeaderIsRemovedByDefault() async throws {
        let rig = try await ProxyRig(upstreams: Self.standard)
        let response = try rig.client().exchange(
            "GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\n\r\n")
        #expect(response.status == 200)
        #expect(response.header("server") == nil)
        #expect(response.header("content-type") == "application/json")
        try await rig.stop()
        let passing = try await ProxyRig(upstreams: Self.standard, proxy: ["server_header": "pass"])
        let passed = try passing.client().exchange(
            "GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\n\r\n")
        #expect(passed.header("server") == "test-origin/1.0")
        try await passing.stop()
    }

    @Test func clientsReachTheirRegionAndHeadersAreRewritten() async throws {
        let rig = try await ProxyRig(upstreams: Self.standard, proxy: ["strip_response_headers": ["Server"]])
        let client = try rig.client()
        let response = try client.exchange(
            "GET /cart?id=7 HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: \(ProxyRig.london)\r\n"
                + "Connection: keep-alive, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
                + "Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Custom: kept\r\n\r\n")
        #expect(response.status == 200)
        #expect(["a1", "a2"].contains(response.upstreamName ?? ""))
        #expect(response.header("x-geofront-region") == "eu-west")
        #expect(response.header("server") == nil)  // stripped
        #expect(response.header("keep-alive") == nil)  // hop-by-hop from the upstream
        #expect(response.echo?["uri"] as? String == "/cart?id=7")
        #expect(response.seen("host") == ["shop.example"])
        #expect(response.seen("x-forwarded-for") == ["\(ProxyRig.london), 127.0.0.2"])
        #expect(response.seen("x-forwarded-proto") == ["http"])
        #expect(response.seen("x-forwarded-host") == ["shop.example"])
        #expect(response.seen("forwarded") == ["for=127.0.0.2;host=shop.example;proto=http"])
        #expect(response.seen("x-custom") == ["kept"])
        for hop in [
            "connection", "x-secret-hop", "keep-alive", "te", "proxy-connection", "upgrade", "transfer-encoding",
        ] {
            #expect(response.seen(hop).isEmpty, "\(hop) reached the upstream")
        }
        // Another client on the same connection goes to its own region.
        let seattle = try rig.get(as: ProxyRig.seattle, on: client)
        #expect(seattle.upstreamName == "c1")
        #expect(seattle.header("x-geofront-region") == "us-east")
        try await rig.stop()
    }

    @Test func untrustedPeersCannotForgeTheChain() async throws {
        let rig = try await ProxyRig(upstreams: Self.standard)
        let client = try rig.client(source: "127.0.0.1")
        let response = try client.exchange(
            "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\n\r\n")
        #expect(response.seen("x-forwarded-for") == ["127.0.0.1"])
        #expect(response.seen("forwarded") == ["for=127.0.0.1;host=h;proto=http"])
        #expect(response.upstreamName == "b1")  // 127.0.0.1 has no location: default region
        try await rig.stop()
    }

    @Test func roundRobinAndWeights() async throws {
        let rig = try await ProxyRig(
            upstreams: ["eu-west": [("a1", .echo), ("a2", .echo)], "eu-central": [("b1", .echo), ("b2", .echo)]],
            weights: ["eu-central": [3, 1]])
        let client = try rig.client()
        var counts: [String: Int] = [:]
        for _ in 0..<40 { counts[try rig.get(on: client).upstreamName ?? "?", default: 0] += 1 }
        #expect(counts == ["a1": 20, "a2": 20])
        counts = [:]
        for _ in 0..<40 { counts[try rig.get(as: "10.0.0.1", on: client).upstreamName ?? "?", default: 0] += 1 }
        #expect(counts == ["b1": 30, "b2": 10])
        // Keep-alive to the upstreams: far fewer connections than requests.
        #expect(rig.upstreams["eu-west"]!.map(\.connections).reduce(0, +) <= 2)
        try await rig.stop()
    }

    @Test func leastRequestsSpreadsLoad() async throws {
        let rig = try await ProxyRig(
            upstreams: ["eu-west": [("a1", .echo), ("a2", .echo), ("a3", .echo)]],
            regionExtras: ["eu-west": ["lb": "least_requests"]])
        var counts: [String: Int] = [:]
        let client = try rig.client()
        for _ in 0..<60 { counts[try rig.get(on: client).upstreamName ?? "?", default: 0] += 1 }
        #expect(Set(counts.keys) == ["a1", "a2", "a3"])
        try await rig.stop()
    }

    @Test func headAndExpectContinue() async throws {
        let rig = try await ProxyRig(upstreams: Self.standard)
        let client = try rig.client()
        let head = try client.exchange("HEAD /h HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\n\r\n")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(Int(head.header("content-length") ?? "") ?? 0 > 0)
        // The connection is still in sync after a body-less HEAD response.
        #expect(try rig.get(on: client).status == 200)

        client.send(
            "POST /upload HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\nContent-Length: 5\r\n"
                + "Expect: 100-continue\r\n\r\n")
        let interim = try client.readResponse()
        #expect(interim.status == 100)
        client.send("hello")
        let final = try client.readResponse()
        #expect(final.status == 200)
        #expect(final.echo?["body_bytes"] as? Int == 5)
        try await rig.stop()
    }

    @Test func chunkedRequestBodyIsStreamed() async throws {
        let rig = try await ProxyRig(upstreams: Self.standard)
        let client = try rig.client()
        let response = try client.exchange(
            "POST /c HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        #expect(response.status == 200)
        #expect(response.echo?["body_bytes"] as? Int == 11)
        #expect(response.seen("transfer-encoding") == ["chunked"])
        try await rig.stop()
    }

    /// About 2,000 GETs over 4 keep-alive connections while one upstream of the region is
    /// killed: no client sees a failure.
    @Test func killingAnUpstreamUnderLoadLosesNoRequest() async throws {
        let rig = try await ProxyRig(upstreams: Self.standard)
        let port = rig.port
        let victim = rig.upstreams["eu-west"]![0]
        let failures = Counter()
        let done = Counter()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for _ in 0..<4 {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    guard let client = try? RawHTTPClient(port: port, source: "127.0.0.2") else {
                        failures.add(500)
                        return
                    }
                    for index in 0..<500 {
                        let response = try? client.exchange(
                            "GET /load/\(index) HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\n\r\n")
                        if response?.status != 200 || response?.header("x-geofront-region") != "eu-west" {
                            failures.add(1)
                        }
                        if done.add(1) == 600 { try? victim.stop() }
                    }
                }
            }
            group.notify(queue: .global()) { continuation.resume() }
        }
        print(
            "proxy: killed one of two upstreams after 600 of 2000 GETs: \(failures.value) client-visible failures")
        #expect(done.value == 2000)
        #expect(failures.value == 0)
        try await rig.stop()
    }

    @Test func killingAWholeRegionMovesTrafficToTheNextNearest() async throws {
        let rig = try await ProxyRig(upstreams: Self.standard)
        let client = try rig.client()
        #expect(try rig.get(on: client).header("x-geofront-region") == "eu-west")
        for upstream in rig.upstreams["eu-west"]! { try upstream.stop() }
        var failures = 0
        for _ in 0..<200 {
            let response = try rig.get(on: client)
            if response.status != 200 || response.upstreamName != "b1" { failures += 1 }
        }
        print("proxy: whole region eu-west down, 200 GETs: \(failures) failures")
        #expect(failures == 0)
        try await rig.stop()
    }

    /// A POST goes to another upstream only when nothing of it was sent (its connection was
    /// refused); one whose upstream dropped the connection after it was sent gets 502 and is not
    /// retried, where a GET is.
    @Test func postIsRetriedOnlyWhenNothingWasSent() async throws {
        // eu-west: a refusing upstream and a working one. A POST whose connect was refused moves on.
        let rig = try await ProxyRig(upstreams: [
            "eu-west": [("dead", .echo), ("alive", .echo)], "eu-central": [("b1", .echo)],
            "us-east": [("c1", .echo)],
        ])
        try rig.upstreams["eu-west"]![0].stop()
        let client = try rig.client()
        for _ in 0..<4 {
            let response = try client.exchange(
                "POST /p HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\nContent-Length: 3\r\n\r\nabc"
            )
            #expect(response.status == 200)
            #expect(response.upstreamName == "alive")
        }
        try await rig.stop()

        // eu-west's only upstream drops the connection after the request was sent: 502, never retried.
        let dropping = try await ProxyRig(
            upstreams: [
                "eu-west": [("dropper", .closeOnHead)], "eu-central": [("b1", .echo)], "us-east": [("c1", .echo)],
            ])
        let post = try dropping.client().exchange(
            "POST /p HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\nContent-Length: 3\r\n\r\nabc")
        #expect(post.status == 502)
        #expect(!String(decoding: post.body, as: UTF8.self).contains("127.0.0.1"))
        #expect(dropping.upstreams["eu-central"]![0].seen.isEmpty)
        // The same failure on a GET is retried on the next region.
        let get = try dropping.get()
        #expect(get.status == 200)
        #expect(get.upstreamName == "b1")
        try await dropping.stop()
    }

    @Test func slowUpstreamGets504WithinTheTimeout() async throws {
        // The upstream would answer 200 after 20 s; the 504 can only come from the 300 ms
        // timeout. The time is a loose sanity bound, far inside the upstream's delay.
        let rig = try await ProxyRig(
            upstreams: ["eu-west": [("slow", .slow(milliseconds: 20_000))], "eu-central": [("b1", .echo)]],
            proxy: ["response_timeout_ms": 300, "max_attempts": 1])
        let clock = ContinuousClock()
        let start = clock.now
        let response = try rig.get(on: RawHTTPClient(port: rig.port, source: "127.0.0.2", timeoutSeconds: 30))
        let elapsed = clock.now - start
        #expect(response.status == 504)
        #expect(elapsed < .seconds(10), "answered after \(elapsed)")
        #expect(String(decoding: response.body, as: UTF8.self) == "504 Gateway Timeout\n")
        try await rig.stop()
    }

    @Test func upstreamClosingMidResponseCutsTheClientResponse() async throws {
        let rig = try await ProxyRig(upstreams: [
            "eu-west": [("cutter", .closeMidResponse)], "eu-central": [("b1", .echo)],
        ])
        let client = try rig.client()
        client.send("GET /big HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\n\r\n")
        #expect(throws: RawHTTPError.self) { try client.readResponse() }  // never a made-up complete 200
        #expect(try rig.get(as: "10.0.0.1").status == 200)  // still serving
        try await rig.stop()
    }

    @Test func outlierDetectionEjectsAFailingUpstream() async throws {
        let rig = try await ProxyRig(
            upstreams: ["eu-west": [("bad", .status(503)), ("good", .echo)], "eu-central": [("b1", .echo)]],
            proxy: ["outlier_detection": ["consecutive_failures": 3, "base_ejection_ms": 60000]])
        let client = try rig.client()
        for _ in 0..<20 { _ = try rig.get(on: client) }
        let bad = rig.upstreams["eu-west"]![0]
        #expect(bad.seen.count == 3)  // ejected after its third 503
        let status = rig.server.publisher.current.statuses[0]
        #expect(status.upstreamAvailable == [false, true])
        #expect(status.detail?.contains("ejected by outlier detection") == true)
        for _ in 0..<5 { #expect(try rig.get(on: client).upstreamName == "good") }
        try await rig.stop()
    }

    /// Each kind of upstream failure is counted under its own `kind` label: the typed
    /// ``UpstreamFailure`` reaches the metric, not a sentence parsed back.
    @Test func upstreamFailuresAreCountedByKind() async throws {
        let rig = try await ProxyRig(
            upstreams: [
                "eu-west": [("refusing", .echo)], "eu-central": [("failing", .status(503))],
                "us-east": [("dropping", .closeOnHead)],
            ],
            proxy: ["max_attempts": 1, "outlier_detection": ["consecutive_failures": 1000]])
        try rig.upstreams["eu-west"]![0].stop()
        #expect(try rig.get(as: ProxyRig.london).status == 502)
        #expect(try rig.get(as: "2a02:d180::1").status == 503)  // Germany: eu-central's 503 passes through
        #expect(try rig.get(as: ProxyRig.seattle).status == 502)
        let metrics = rig.server.metrics.exposition()
        for (region, upstream, kind) in [
            ("eu-west", rig.upstreams["eu-west"]![0], "refused"),
            ("eu-central", rig.upstreams["eu-central"]![0], "5xx"),
            ("us-east", rig.upstreams["us-east"]![0], "closed"),
        ] {
            let line =
                #"geofront_upstream_errors_total{region="\#(region)",upstream="\#(upstream.address)",kind="\#(kind)"} 1"#
            #expect(metrics.contains(line), "\(line) not in\n\(metrics)")
        }
        try await rig.stop()
    }

    @Test func perRegionModeMixesProxyAndRedirect() async throws {
        let rig = try await ProxyRig(upstreams: Self.standard, regionExtras: ["us-east": ["mode": "redirect"]])
        let far = try rig.get("/v?x=1", as: ProxyRig.seattle)
        #expect(far.status == 302)
        #expect(far.header("location") == "https://us-east.example.test/v?x=1")
        #expect(try rig.get(as: ProxyRig.london).status == 200)
        try await rig.stop()
    }
}

/// A thread-safe counter for load loops.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    @discardableResult
    func add(_ amount: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += amount
        return count
    }

    var value: Int { add(0) }
}

@Suite(.serialized) struct WebSocketProxyTests {
    /// A masked client frame (RFC 6455 §5.2).
    static func maskedTextFrame(_ text: String) -> [UInt8] {
        let payload = Array(text.utf8)
        let mask: [UInt8] = [0x11, 0x22, 0x33, 0x44]
        return [0x81, 0x80 | UInt8(payload.count)] + mask
            + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    }

    @Test func webSocketEchoThroughTheProxy() async throws {
        let echo = try WebSocketEchoServer()
        defer { echo.shutdown() }
        let rig = try await ProxyRig(
            upstreams: ["eu-central": [("b1", .echo)]],
            regionExtras: ["eu-west": ["mode": "proxy", "upstreams": [echo.address]]])
        let client = try rig.client()
        // The first frame travels in the same packet as the handshake.
        client.send(
            Array(
                ("GET /chat HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\nUpgrade: websocket\r\n"
                    + "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: 13\r\n\r\n").utf8) + Self.maskedTextFrame("early"))
        let handshake = try client.readResponse()
        #expect(handshake.status == 101)
        #expect(handshake.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(handshake.header("upgrade")?.lowercased() == "websocket")
        #expect(handshake.header("x-geofront-region") == "eu-west")
        #expect(try client.readBytes(7) == [0x81, 0x05] + Array("early".utf8))
        for message in ["hello", "through", "the tunnel"] {
            client.send(Self.maskedTextFrame(message))
            #expect(
                try client.readBytes(2 + message.utf8.count) == [0x81, UInt8(message.utf8.count)] + Array(message.utf8))
        }
        // Close handshake: the origin answers and closes; the tunnel closes the client too.
        client.send([0x88, 0x80, 1, 2, 3, 4])
        #expect(try client.readBytes(2) == [0x88, 0x00])
        #expect(client.waitForClose())
        // As a real client does on end of stream: its own side ends too, so the tunnel's two
        // connections are done (the origin ended its side; GeoFront passed that on as a FIN).
        client.halfClose()
        #expect(try rig.get(as: "10.0.0.1").status == 200)
        try await rig.stop()
    }

    @Test func refusedUpgradeIsAnsweredAndTheConnectionClosed() async throws {
        let rig = try await ProxyRig(upstreams: ProxyTests.standard)
        let client = try rig.client()
        let response = try client.exchange(
            "GET /chat HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        )
        #expect(response.status == 200)  // the echo origin ignores the upgrade
        #expect(response.header("connection") == "close")
        #expect(response.seen("upgrade") == ["websocket"])
        #expect(client.waitForClose())
        try await rig.stop()
    }
}
