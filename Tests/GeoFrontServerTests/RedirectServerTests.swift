import Foundation
import TestSupport
import Testing

/// End to end: real server on 127.0.0.1, real sockets, MaxMind's City test database.
@Suite struct RedirectServerTests {
    /// Simulated clients (X-Forwarded-For from the trusted proxy) and where they must go.
    /// Positions are from GeoLite2-City-Test.json; regions are in ``TestServer/regions``.
    static let clients: [(ip: String, region: String)] = [
        ("81.2.69.142", "eu-west"),  // London
        ("2.125.160.216", "eu-west"),  // Boxford, GB
        ("89.160.20.112", "eu-north"),  // Linköping, SE
        ("2a02:d300::1", "eu-north"),  // Ukraine (49, 32): Stockholm is nearer than Frankfurt
        ("216.160.83.56", "us-west"),  // Milton, WA
        ("2001:480::1", "us-west"),  // San Diego
        ("2001:218::1", "ap-northeast"),  // Tokyo
        ("175.16.199.1", "ap-northeast"),  // Changchun, CN
        ("67.43.156.1", "ap-south"),  // Bhutan
        ("202.196.224.1", "ap-southeast"),  // Philippines
        ("::ffff:81.2.69.142", "eu-west"),  // IPv4-mapped form
        ("10.1.2.3", "eu-central"),  // private: default region
        ("149.101.100.1", "eu-central"),  // not in the test database: default region
    ]

    @Test func simulatedClientsAreRedirectedToTheirNearestRegion() async throws {
        try await withServer { server in
            let client = try server.trustedClient()  // one keep-alive connection for all of them
            for (index, (ip, region)) in Self.clients.enumerated() {
                let response = try client.exchange(
                    "GET /videos/\(index)?t=3&x=%2F HTTP/1.1\r\nHost: gslb.example.test\r\nX-Forwarded-For: \(ip)\r\n\r\n"
                )
                #expect(response.status == 302, "\(ip)")
                #expect(
                    response.header("location") == "https://\(region).example.test/videos/\(index)?t=3&x=%2F", "\(ip)")
                #expect(response.header("x-geofront-region") == region, "\(ip)")
                #expect(response.header("cache-control") == "no-store")
                #expect(response.header("content-length") == "0")
                #expect(response.header("connection") == nil)
            }
        }
    }

    @Test func forwardedHeaderAndProxyChains() async throws {
        try await withServer { server in
            let client = try server.trustedClient()
            let forwarded = try client.exchange(
                "GET /a HTTP/1.1\r\nHost: t\r\nForwarded: for=\"[2001:218::1]:4711\";proto=https\r\n\r\n")
            #expect(forwarded.header("x-geofront-region") == "ap-northeast")
            // The client's own claim (leftmost) is ignored; the entry our trusted proxy added counts.
            let chain = try client.exchange(
                "GET /b HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 2001:218::1, 81.2.69.142, 127.0.0.2\r\n\r\n")
            #expect(chain.header("x-geofront-region") == "eu-west")
        }
    }

    @Test func forwardingHeadersFromAnUntrustedPeerAreIgnored() async throws {
        try await withServer { server in
            let client = try server.untrustedClient()
            let response = try client.exchange(
                "GET /x HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 2001:218::1\r\nForwarded: for=2001:218::1\r\n\r\n")
            // 127.0.0.1 has no location: the default region, not the spoofed Tokyo.
            #expect(response.header("x-geofront-region") == "eu-central")
        }
    }

    @Test func garbageForwardingHeadersFallBackToThePeer() async throws {
        try await withServer { server in
            let client = try server.trustedClient()
            for value in ["garbage", "1.2.3.4.5", "unknown", "[::1", "1.2.3.4:x", String(repeating: "1", count: 4000)] {
                let response = try client.exchange("GET /x HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: \(value)\r\n\r\n")
                #expect(response.status == 302)
                #expect(response.header("x-geofront-region") == "eu-central")
            }
        }
    }

    @Test(arguments: [301, 303, 307, 308])
    func configuredStatusIsUsed(status: Int) async throws {
        try await withServer(redirectStatus: status) { server in
            let response = try server.trustedClient().exchange("GET /s HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(response.status == status)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withServer { server in
            let client = try server.trustedClient()
            var batch = ""
            for (index, (ip, _)) in Self.clients.prefix(6).enumerated() {
                batch += "GET /p/\(index) HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: \(ip)\r\n\r\n"
            }
            client.send(batch)
            for (index, (_, region)) in Self.clients.prefix(6).enumerated() {
                let response = try client.readResponse()
                #expect(response.header("location") == "https://\(region).example.test/p/\(index)")
            }
        }
    }

    @Test func requestBodiesAreReadAndDiscarded() async throws {
        try await withServer { server in
            let client = try server.trustedClient()
            client.send(
                "POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nX-Forwarded-For: 81.2.69.142\r\n\r\nhello=world"
                    + "POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                    + "GET /after HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 89.160.20.112\r\n\r\n")
            #expect(try client.readResponse().header("location") == "https://eu-west.example.test/form")
            #expect(try client.readResponse().header("location") == "https://eu-central.example.test/chunked")
            #expect(try client.readResponse().header("location") == "https://eu-north.example.test/after")
        }
    }

    @Test func absoluteFormTargetKeepsOnlyPathAndQuery() async throws {
        try await withServer { server in
            let response = try server.trustedClient().exchange(
                "GET http://evil.example/steal?x=1 HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n"
            )
            #expect(response.header("location") == "https://eu-west.example.test/steal?x=1")
        }
    }

    @Test func headerInjectionNeverReachesTheResponse() async throws {
        try await withServer { server in
            let client = try server.trustedClient()
            let encoded = try client.exchange("GET /a%0D%0ASet-Cookie:%20x=1 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(encoded.header("location") == "https://eu-central.example.test/a%0D%0ASet-Cookie:%20x=1")
            #expect(encoded.header("set-cookie") == nil)
            #expect(try server.isServing())

            // Raw CR or LF inside the request line or a header value: rejected, never echoed.
            for attack in [
                "GET /a\rSet-Cookie: x=1 HTTP/1.1\r\nHost: t\r\n\r\n",
                "GET /a HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 81.2.69.142\rSet-Cookie: x=1\r\n\r\n",
                "GET /a\nSet-Cookie: x=1 HTTP/1.1\r\nHost: t\r\n\r\n",
            ] {
                let attacker = try server.trustedClient()
                let response = try attacker.exchange(attack)
                #expect(response.status == 400, "\(attack.debugDescription)")
                #expect(response.header("set-cookie") == nil)
                #expect(attacker.waitForClose())
            }
            #expect(try server.isServing())
        }
    }

    static let malformedRequests = [
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/9.9\r\nHost: t\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : t\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: t\r\n folded: continuation\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
        "\u{1}\u{2}\u{3}\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: t\r\nX: a\u{1}b\r\n\r\n",
        "GET /a\u{7f}b HTTP/1.1\r\nHost: t\r\n\r\n",
    ]

    @Test(arguments: malformedRequests)
    func malformedRequestsGet400AndTheServerKeepsServing(request: String) async throws {
        try await withServer { server in
            let client = try server.trustedClient()
            let response = try client.exchange(request)
            #expect(response.status == 400, "\(request.debugDescription)")
            #expect(response.header("connection") == "close")
            #expect(client.waitForClose())
            #expect(try server.isServing())
        }
    }

    /// The redirect goes out when the head arrives; a body that then breaks its framing closes the
    /// connection (no second response, nothing after it is read as a new request).
    @Test func malformedBodyAfterTheAnswerClosesTheConnection() async throws {
        try await withServer { server in
            let client = try server.trustedClient()
            client.send(
                "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"
                    + "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().header("location") == "https://eu-central.example.test/c")
            #expect(client.waitForClose())
            #expect(try server.isServing())
        }
    }

    @Test func connectMethodIsRefused() async throws {
        try await withServer { server in
            let client = try server.trustedClient()
            let response = try client.exchange("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n")
            #expect(response.status == 400)
            #expect(client.waitForClose())  // nothing after a CONNECT is read as a request
            #expect(try server.isServing())
        }
    }

    @Test func oversizedHeadGets431() async throws {
        try await withServer { server in
            let client = try server.trustedClient()
            let big = String(repeating: "a", count: 200 * 1024)
            client.send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: \(big)\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 431)
            #expect(try server.isServing())

            let longTarget = try server.trustedClient()
            longTarget.send("GET /\(big) HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try longTarget.readResponse().status == 431)
            #expect(try server.isServing())
        }
    }

    @Test func headJustUnderTheLimitIsServed() async throws {
        try await withServer(server: ["max_request_head_bytes": 4096]) { server in
            let client = try server.trustedClient()
            let response = try client.exchange(
                "GET / HTTP/1.1\r\nHost: t\r\nX-Pad: \(String(repeating: "p", count: 3000))\r\n\r\n")
            #expect(response.status == 302)
            let tooBig = try client.exchange(
                "GET / HTTP/1.1\r\nHost: t\r\nX-Pad: \(String(repeating: "p", count: 5000))\r\n\r\n")
            #expect(tooBig.status == 431)
        }
    }

    @Test func connectionCloseAndHTTP10AreHonoured() async throws {
        try await withServer { server in
            let close = try server.trustedClient()
            let first = try close.exchange("GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            #expect(first.status == 302)
            #expect(first.header("connection") == "close")
            #expect(close.waitForClose())

            let old = try server.trustedClient()
            let response = try old.exchange("GET /old HTTP/1.0\r\n\r\n")
            #expect(response.status == 302)
            #expect(old.waitForClose())

            let keepAlive10 = try server.trustedClient()
            let kept = try keepAlive10.exchange("GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(kept.status == 302)
            #expect(try keepAlive10.exchange("GET /k2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").status == 302)
        }
    }

    @Test func slowRequestHeadGets408() async throws {
        try await withServer(server: ["request_timeout_ms": 300, "idle_timeout_ms": 5000]) { server in
            let client = try server.trustedClient()
            client.send("GET /slow HTTP/1.1\r\nHost: t\r\n")  // never finishes the head
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(client.waitForClose())
            #expect(try server.isServing())
        }
    }

    @Test func dribblingBytesDoesNotExtendTheHeadDeadline() async throws {
        try await withServer(server: ["request_timeout_ms": 400, "idle_timeout_ms": 5000]) { server in
            let client = try server.trustedClient()
            client.send("GET /slow HTTP/1.1\r\n")
            var sawResponse = false
            for index in 0..<20 {  // one header line every 100 ms: 2 s, far past the deadline
                try await Task.sleep(for: .milliseconds(100))
                if !client.send("X-Drip-\(index): x\r\n") { break }
            }
            if let response = try? client.readResponse() {
                sawResponse = true
                #expect(response.status == 408)
            }
            #expect(sawResponse)
        }
    }

    @Test func idleKeepAliveConnectionIsClosed() async throws {
        try await withServer(server: ["idle_timeout_ms": 300]) { server in
            let client = try server.trustedClient()
            #expect(try client.exchange("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n").status == 302)
            #expect(client.waitForClose())  // closed quietly, no 408

            let silent = try server.trustedClient()  // never sends anything
            #expect(silent.waitForClose())
        }
    }
}
