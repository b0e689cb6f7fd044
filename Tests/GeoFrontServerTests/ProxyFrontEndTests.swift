import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import TestSupport
import Testing

/// The front end in proxy mode, with one region in front of one upstream: the request the
/// upstream sees, upstream framings passed through exactly, bodies of every framing, pipelining,
/// limits and accounting on one connection.
@Suite(.serialized) struct ProxyFrontEndTests {
    /// GeoFront with one proxy region in front of `upstream`.
    static func start(upstream: Any, proxy: [String: Any] = [:], extra: [String: Any] = [:]) async throws
        -> FrontDoorServer
    {
        var object: [String: Any] = [
            "listen": "127.0.0.1:0", "geoip": ["database": Fixtures.maxmind("GeoLite2-City-Test.mmdb")],
            "mode": "proxy", "trusted_proxies": ["127.0.0.2/32"], "admin": NSNull(),
            "server": ["threads": 1], "proxy": proxy,
            "regions": [
                ["name": "only", "location": ["latitude": 50.0, "longitude": 8.0], "upstreams": [upstream]]
            ],
        ]
        object.merge(extra) { _, new in new }
        let config = try ConfigLoader.parse(try JSONSerialization.data(withJSONObject: object), baseDirectory: "/")
        var logger = Logger(label: "geofront-proxy-front-end-test")
        logger.logLevel = .critical
        return try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
    }

    /// Requests from a trusted proxy (127.0.0.2) and from an untrusted peer (127.0.0.1), and the
    /// head the upstream must get for each: an origin-form HTTP/1.1 request line; the client's
    /// other fields as they came, minus the hop-by-hop ones and those its `Connection` names; and
    /// `X-Forwarded-For`, `Forwarded`, `X-Forwarded-Proto`, `X-Forwarded-Host`, `Via` and `Host`
    /// as GeoFront makes them (a trusted proxy's chain extended and its `X-Forwarded-Proto`/`-Host`
    /// kept; an untrusted peer's replaced by what GeoFront knows).
    static let requests: [(source: String, request: String, requestLine: String, fields: [String])] = [
        (
            "127.0.0.2", "GET /a?b=c HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n",
            "GET /a?b=c HTTP/1.1",
            [
                "X-Forwarded-For: 81.2.69.142, 127.0.0.2", "Forwarded: for=127.0.0.2;host=shop.example;proto=http",
                "X-Forwarded-Proto: http", "X-Forwarded-Host: shop.example", "Via: 1.1 geofront",
                "Host: shop.example",
            ]
        ),
        (
            "127.0.0.2",
            "GET /chain HTTP/1.1\r\nHost: shop.example:8443\r\nX-Forwarded-For: 10.0.0.1, 81.2.69.142\r\n"
                + "X-Forwarded-For: 81.2.69.143\r\nForwarded: for=10.0.0.1;proto=https\r\nX-Forwarded-Proto: https\r\n"
                + "X-Forwarded-Host: shop.example\r\nVia: 1.1 edge\r\nAccept: */*\r\n\r\n",
            "GET /chain HTTP/1.1",
            [
                "X-Forwarded-Proto: https", "X-Forwarded-Host: shop.example", "Accept: */*",
                "X-Forwarded-For: 10.0.0.1, 81.2.69.142, 81.2.69.143, 127.0.0.2",
                #"Forwarded: for=10.0.0.1;proto=https, for=127.0.0.2;host="shop.example:8443";proto=http"#,
                "Via: 1.1 edge, 1.1 geofront", "Host: shop.example:8443",
            ]
        ),
        (
            "127.0.0.1",
            "GET /forged HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\n"
                + "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n\r\n",
            "GET /forged HTTP/1.1",
            [
                "X-Forwarded-For: 127.0.0.1", "Forwarded: for=127.0.0.1;host=h;proto=http", "X-Forwarded-Proto: http",
                "X-Forwarded-Host: h", "Via: 1.1 geofront", "Host: h",
            ]
        ),
        (
            "127.0.0.2",
            "GET http://shop.example/absolute?q=1 HTTP/1.1\r\nHost: shop.example\r\n"
                + "Connection: keep-alive, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
                + "Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Custom: kept\r\nx-custom: twice\r\n\r\n",
            "GET /absolute?q=1 HTTP/1.1",
            [
                "X-Custom: kept", "x-custom: twice", "X-Forwarded-For: 127.0.0.2",
                "Forwarded: for=127.0.0.2;host=shop.example;proto=http", "X-Forwarded-Proto: http",
                "X-Forwarded-Host: shop.example", "Via: 1.1 geofront", "Host: shop.example",
            ]
        ),
        (
            "127.0.0.2", "HEAD /head HTTP/1.1\r\nHost: [::1]:8080\r\nX-Forwarded-For: 2001:db8::1\r\n\r\n",
            "HEAD /head HTTP/1.1",
            [
                "X-Forwarded-For: 2001:db8::1, 127.0.0.2", #"Forwarded: for=127.0.0.2;host="[::1]:8080";proto=http"#,
                "X-Forwarded-Proto: http", "X-Forwarded-Host: [::1]:8080", "Via: 1.1 geofront", "Host: [::1]:8080",
            ]
        ),
    ]

    /// Each request above reaches the upstream with exactly the request line and the field lines
    /// written down beside it: no field missing, none added, hop-by-hop fields and those named in
    /// `Connection` gone, repeated fields in the client's order. (The order of fields with
    /// different names is not part of the contract.)
    @Test func theUpstreamSeesTheRewrittenRequest() async throws {
        let upstream = try ScriptedUpstream([.init("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")])
        let server = try await Self.start(upstream: upstream.address)
        let port = server.localAddress!.port!
        for (source, request, _, _) in Self.requests {
            let response = try RawHTTPClient(port: port, source: source).exchange(request)
            #expect(response.status == 200, "\(request.debugDescription)")
            #expect(response.header("x-geofront-region") == "only")
        }
        try await server.stop()
        upstream.shutdown()
        let heads = upstream.heads
        #expect(heads.count == Self.requests.count)
        for (head, expected) in zip(heads, Self.requests) {
            let lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.first == expected.requestLine, "\(head.debugDescription)")
            let fields = Array(lines.dropFirst())
            #expect(fields.sorted() == expected.fields.sorted(), "\(expected.requestLine): \(head.debugDescription)")
            let names = fields.map { $0.prefix { $0 != ":" }.lowercased() }
            for hop in ["connection", "keep-alive", "te", "proxy-connection", "upgrade", "x-secret-hop"] {
                #expect(!names.contains(hop), "\(hop) reached the upstream: \(head.debugDescription)")
            }
            for name in ["x-forwarded-for", "forwarded", "x-forwarded-proto", "x-forwarded-host", "via", "host"] {
                #expect(names.filter { $0 == name }.count == 1, "\(name) is not one field: \(head.debugDescription)")
            }
            let custom = fields.filter { $0.lowercased().hasPrefix("x-custom:") }
            #expect(custom == expected.fields.filter { $0.lowercased().hasPrefix("x-custom:") })
        }
    }

    /// Upstream framings reach the client exactly: chunked (with a trailer) stays chunked, a body
    /// without a length ends the client's connection, 1xx goes before the final head, 204 and HEAD
    /// have no body, hop-by-hop response fields are dropped.
    @Test func upstreamFramingsPassThrough() async throws {
        let chunked = "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
        let upstream = try ScriptedUpstream([
            .init(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
                    + "Keep-Alive: timeout=5\r\n\r\n" + chunked),
            .init("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"),
            .init("HTTP/1.0 200 OK\r\nX-Old: yes\r\n\r\nuntil the upstream closes", closeAfter: true),
        ])
        let server = try await Self.start(upstream: upstream.address)
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        client.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n")
        let first = try client.readResponse(toHead: true)
        #expect(first.status == 200)
        #expect(first.header("transfer-encoding") == "chunked")
        #expect(first.header("x-hop") == nil)
        #expect(first.header("keep-alive") == nil)
        #expect(first.header("connection") == nil)
        #expect(first.header("x-geofront-region") == "only")
        #expect(String(decoding: try client.readBytes(chunked.utf8.count), as: UTF8.self) == chunked)

        client.send("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        let hints = try client.readResponse()
        #expect(hints.status == 103)
        #expect(hints.header("link") == "</a.css>")
        let noContent = try client.readResponse()
        #expect(noContent.status == 204)
        #expect(noContent.header("x-a") == "1")

        client.send("GET /3 HTTP/1.1\r\nHost: h\r\n\r\n")
        let old = try client.readResponse(toHead: true)
        #expect(old.status == 200)
        #expect(old.header("connection") == "close")
        #expect(String(decoding: try client.readToClose(), as: UTF8.self) == "until the upstream closes")
        // The first two answers came over one upstream connection; the third closed its own.
        #expect(upstream.connections == 1)
        try await server.stop()
        upstream.shutdown()
    }

    /// Chunked trailer fields go on, both ways: the origin's reach an HTTP/1.1 client; the
    /// client's reach the origin.
    @Test func trailersArePassedOnBothWays() async throws {
        let upstream = try ScriptedUpstream([
            .init("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n")
        ])
        let server = try await Self.start(upstream: upstream.address)
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        client.send("GET /t HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse(toHead: true).header("transfer-encoding") == "chunked")
        let body = String(decoding: try client.readBytes(32), as: UTF8.self)
        #expect(body == "5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n", "\(body.debugDescription)")
        try await server.stop()
        upstream.shutdown()

        let echo = try TestUpstream(name: "echo", .echo)
        let echoing = try await Self.start(upstream: echo.address)
        let sender = try RawHTTPClient(port: echoing.localAddress!.port!)
        let answer = try sender.exchange(
            "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Request-Sum: 9\r\n\r\n"
        )
        #expect(answer.status == 200)
        #expect(echo.seen.last?.bodyBytes == 3)
        #expect(echo.seen.last.map { $0.trailers.map { "\($0.0): \($0.1)" } } == ["X-Request-Sum: 9"])
        try await echoing.stop()
        echo.shutdown()
    }

    /// A response head the parser refuses is the upstream's failure: 502, and the connection
    /// to the client stays usable.
    @Test func malformedUpstreamResponseIs502() async throws {
        let upstream = try ScriptedUpstream([
            .init("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")
        ])
        let server = try await Self.start(upstream: upstream.address, proxy: ["max_attempts": 1])
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        let response = try client.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(response.status == 502)
        #expect(String(decoding: response.body, as: UTF8.self) == "502 Bad Gateway\n")
        #expect(try client.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status == 502)
        try await server.stop()
        upstream.shutdown()
    }

    /// Requests with and without a body, pipelined, then an HTTP/1.0 keep-alive request, are all
    /// answered, in order, on one connection, which keeps serving after them.
    @Test func pipelinedMixedRequestsKeepTheConnectionServing() async throws {
        let upstream = try TestUpstream(name: "u")
        let server = try await Self.start(upstream: upstream.address)
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        #expect(try client.exchange("GET /first HTTP/1.1\r\nHost: h\r\n\r\n").status == 200)
        // Pipelined, a POST with a body among GETs: answered in order.
        client.send(
            "GET /p1 HTTP/1.1\r\nHost: h\r\n\r\nGET /p2 HTTP/1.1\r\nHost: h\r\n\r\nPOST /form HTTP/1.1\r\nHost: h\r\n"
                + "Content-Length: 5\r\n\r\nhelloGET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        var uris: [String] = []
        for _ in 0..<4 {
            let response = try client.readResponse()
            #expect(response.status == 200)
            uris.append(response.echo?["uri"] as? String ?? "?")
        }
        #expect(uris == ["/p1", "/p2", "/form", "/after"])
        #expect(upstream.seen.first { $0.uri == "/form" }?.bodyBytes == 5)
        let old = try client.exchange("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(old.status == 200)
        #expect(try client.exchange("GET /last HTTP/1.1\r\nHost: h\r\n\r\n").status == 200)
        try await server.stop()
        upstream.shutdown()
    }

    /// Pooled upstream connections are reused while fresh and closed after
    /// `pool_idle_timeout_ms`. The timeout is long enough that three requests in a row on a
    /// loaded machine still find the connection fresh; the test waits for the close itself, not
    /// for a time.
    @Test func idlePooledConnectionsAreClosed() async throws {
        let upstream = try TestUpstream(name: "u")
        let server = try await Self.start(upstream: upstream.address, proxy: ["pool_idle_timeout_ms": 1500])
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        for _ in 0..<3 { #expect(try client.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status == 200) }
        #expect(upstream.connections == 1)
        try await waitUntil("the idle pooled connection to be closed") { upstream.openConnections == 0 }
        #expect(try client.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status == 200)
        #expect(upstream.connections == 2)
        try await server.stop()
        upstream.shutdown()
    }

    /// Each request, bodiless or chunked, is counted once and logged once, with the client the
    /// forwarding headers name.
    @Test func countedAndLoggedOncePerRequest() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let logPath = "\(folder.path)/access.log"
        let upstream = try TestUpstream(name: "u")
        let server = try await Self.start(
            upstream: upstream.address, extra: ["access_log": ["path": logPath, "format": "json"]])
        let client = try RawHTTPClient(port: server.localAddress!.port!, source: "127.0.0.2")
        for _ in 0..<3 {
            #expect(
                try client.exchange("GET /g HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n").status == 200)
        }
        let post = try client.exchange(
            "POST /form HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 81.2.69.142\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "2\r\nhi\r\n0\r\n\r\n")
        #expect(post.status == 200)
        let metrics = server.metrics.exposition()
        #expect(metrics.contains(#"geofront_requests_total{region="only",mode="proxy",status="200"} 4"#))
        #expect(metrics.contains(#"geofront_lookups_total{outcome="found"} 4"#))
        try await server.stop()
        upstream.shutdown()
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        let entries = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(entries.map { $0["target"] as? String } == ["/g", "/g", "/g", "/form"])
        #expect(entries.allSatisfy { $0["client"] as? String == "81.2.69.142" && $0["mode"] as? String == "proxy" })
    }

    /// A PROXY header's address is the client of every request on its connection, whatever the
    /// request's body: none, chunked, or with a Content-Length.
    @Test func proxyProtocolAddressHoldsForEveryRequestOnTheConnection() async throws {
        let upstream = try TestUpstream(name: "u")
        let server = try await Self.start(
            upstream: upstream.address, extra: ["proxy_protocol": true, "trusted_proxies": ["127.0.0.0/8"]])
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        client.send("PROXY TCP4 81.2.69.142 10.0.0.1 5000 80\r\n")
        #expect(try client.exchange("GET /none HTTP/1.1\r\nHost: h\r\n\r\n").status == 200)
        #expect(
            try client.exchange(
                "POST /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            ).status == 200)
        #expect(try client.exchange("PUT /length HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx").status == 200)
        let seen = upstream.seen.map { $0.headers.first { $0.0.lowercased() == "x-forwarded-for" }?.1 }
        #expect(seen == ["81.2.69.142", "81.2.69.142", "81.2.69.142"])
        try await server.stop()
        upstream.shutdown()
    }

    /// A head that never completes gets 408 within `request_timeout_ms`, and an idle connection
    /// is closed after `idle_timeout_ms`.
    @Test func slowHeadGets408AndIdleConnectionsClose() async throws {
        let upstream = try TestUpstream(name: "u")
        let server = try await Self.start(
            upstream: upstream.address,
            extra: ["server": ["threads": 1, "request_timeout_ms": 300, "idle_timeout_ms": 500]])
        let port = server.localAddress!.port!
        let slow = try RawHTTPClient(port: port)
        slow.send("GET /slow HTTP/1.1\r\nHost: h\r\n")
        let response = try slow.readResponse()
        #expect(response.status == 408)
        #expect(response.header("connection") == "close")
        let idle = try RawHTTPClient(port: port)
        #expect(try idle.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status == 200)
        #expect(idle.waitForClose())
        try await server.stop()
        upstream.shutdown()
    }

    /// An answer the front end writes itself for a request pipelined behind a proxied one (here a
    /// 429) goes out without waiting for more client bytes.
    @Test func answersBehindAProxiedRequestAreFlushed() async throws {
        let upstream = try TestUpstream(name: "u")
        let server = try await Self.start(
            upstream: upstream.address, extra: ["rate_limit": ["requests_per_second": 1, "burst": 1]])
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        client.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        #expect(try client.readResponse().status == 429)
        try await server.stop()
        upstream.shutdown()
    }

    /// `max_requests_per_connection` counts every request on the connection, bodiless and
    /// chunked alike: the third, a chunked POST, is the last.
    @Test func requestLimitCountsBodilessAndChunkedRequestsAlike() async throws {
        let upstream = try TestUpstream(name: "u")
        let server = try await Self.start(
            upstream: upstream.address, extra: ["server": ["threads": 1, "max_requests_per_connection": 3]])
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        for _ in 0..<2 {
            let response = try client.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(response.status == 200)
            #expect(response.header("connection") == nil)
        }
        let third = try client.exchange(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n")
        #expect(third.status == 200)
        #expect(third.header("connection") == "close")
        #expect(client.waitForClose())
        try await server.stop()
        upstream.shutdown()
    }

    /// Content-Length bodies are streamed upstream whole, small and large, and pipelined behind
    /// each other.
    @Test func contentLengthBodiesStreamUpstreamWhole() async throws {
        let upstream = try TestUpstream(name: "u")
        let server = try await Self.start(upstream: upstream.address)
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        let small = try client.exchange("POST /s HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
        #expect(small.status == 200)
        #expect(small.echo?["body_bytes"] as? Int == 5)
        let size = 3 * 1024 * 1024
        client.send("PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: \(size)\r\n\r\n")
        let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)
        for _ in 0..<(size / chunk.count) { #expect(client.send(chunk)) }
        let big = try client.readResponse()
        #expect(big.status == 200)
        #expect(big.echo?["body_bytes"] as? Int == size)
        client.send(
            "POST /1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcDELETE /2 HTTP/1.1\r\nHost: h\r\n"
                + "Content-Length: 2\r\n\r\nxyGET /3 HTTP/1.1\r\nHost: h\r\n\r\n")
        var seen: [String] = []
        for _ in 0..<3 { seen.append(try client.readResponse().echo?["uri"] as? String ?? "?") }
        #expect(seen == ["/1", "/2", "/3"])
        #expect(upstream.seen.map(\.bodyBytes) == [5, size, 3, 2, 0])
        try await server.stop()
        upstream.shutdown()
    }

    /// An upstream that answers before the body is in: the client gets the answer with
    /// `Connection: close`, and the connection ends (nobody reads the rest of its body).
    @Test func earlyAnswerBeforeTheBodyEndsClosesTheConnection() async throws {
        let upstream = try ScriptedUpstream([
            .init("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n", closeAfter: true)
        ])
        let server = try await Self.start(upstream: upstream.address)
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        client.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\nfirst bytes")
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(response.header("connection") == "close")
        #expect(client.waitForClose())
        try await server.stop()
        upstream.shutdown()
    }

    /// A request the front end answers itself for its region (here: the only region drained,
    /// `when_all_down` unavailable, so 503) takes exactly one `rate_limit` token: with a burst of
    /// two, two 503s, then a 429.
    @Test func unavailableRegionTakesOneRateLimitTokenPerRequest() async throws {
        let upstream = try TestUpstream(name: "u")
        let object: [String: Any] = [
            "listen": "127.0.0.1:0", "geoip": ["database": Fixtures.maxmind("GeoLite2-City-Test.mmdb")],
            "mode": "proxy", "admin": NSNull(), "when_all_down": "unavailable",
            "rate_limit": ["requests_per_second": 1, "burst": 2], "server": ["threads": 1],
            "regions": [
                [
                    "name": "only", "location": ["latitude": 50.0, "longitude": 8.0], "upstreams": [upstream.address],
                    "drain": true,
                ]
            ],
        ]
        let config = try ConfigLoader.parse(try JSONSerialization.data(withJSONObject: object), baseDirectory: "/")
        var logger = Logger(label: "geofront-proxy-front-end-test")
        logger.logLevel = .critical
        let server = try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        var statuses: [Int] = []
        for _ in 0..<3 { statuses.append(try client.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status) }
        #expect(statuses == [503, 503, 429])
        try await server.stop()
        upstream.shutdown()
    }

    /// The upstream latency histogram keeps one series per upstream across snapshots (a health
    /// change or reload publishes a new one).
    @Test func upstreamLatencySeriesSurvivesANewSnapshot() async throws {
        let upstream = try TestUpstream(name: "u")
        let server = try await Self.start(upstream: upstream.address)
        let client = try RawHTTPClient(port: server.localAddress!.port!)
        for _ in 0..<2 { #expect(try client.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status == 200) }
        server.publisher.update { $0.with(statuses: $0.statuses) }
        // The publisher hands the snapshot to the loop with `execute`: once a task submitted
        // after it has run, the loop has it.
        for loop in server.eventLoopGroup.makeIterator() { try await loop.submit {}.get() }
        #expect(try client.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status == 200)
        let lines = server.metrics.exposition().split(separator: "\n").filter {
            $0.hasPrefix("geofront_upstream_response_seconds_count")
        }
        #expect(
            lines == [#"geofront_upstream_response_seconds_count{region="only",upstream="\#(upstream.address)"} 3"#])
        try await server.stop()
        upstream.shutdown()
    }
}
