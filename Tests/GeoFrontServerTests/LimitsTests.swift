import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import TestSupport
import Testing

/// `rate_limit`, `server.max_connections_per_ip`, `server.max_requests_per_connection`, on a
/// redirecting server.
@Suite struct LimitsTests {
    @Test func rateLimitAnswers429AndSparesOtherClients() async throws {
        try await withServer(extra: ["rate_limit": ["requests_per_second": 1, "burst": 10]]) { server in
            let noisy = try server.trustedClient()
            let calm = try server.trustedClient()
            var statuses: [Int] = []
            // The limiter refills one token a second: how many get through depends on how long
            // the 40 requests take, which depends on the machine, so the bound is worked out
            // from the time they really took.
            let clock = ContinuousClock()
            let start = clock.now
            for index in 0..<40 {
                let response = try noisy.exchange(
                    "GET /n HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n")
                statuses.append(response.status)
                if response.status == 429 { #expect(response.header("retry-after") == "1") }
                if index % 4 == 0 {
                    let other = try calm.exchange(
                        "GET /c HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 89.160.20.112\r\n\r\n")
                    #expect(other.status == 302)
                }
            }
            let seconds = (clock.now - start).components.seconds
            let allowed = 10 + Int(seconds) + 1  // the burst, a token per whole second begun
            #expect(statuses.prefix(10).allSatisfy { $0 == 302 })
            #expect(statuses.filter { $0 == 302 }.count <= allowed, "\(statuses) in \(seconds) s")
            #expect(statuses.filter { $0 == 429 }.count >= 1)  // 40 requests took under 29 s
        }
    }

    @Test func connectionAndRequestLimits() async throws {
        try await withServer(server: ["max_connections_per_ip": 2, "max_requests_per_connection": 3]) { server in
            let first = try server.trustedClient()
            let second = try server.trustedClient()
            #expect(try first.exchange("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n").status == 302)
            #expect(try second.exchange("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n").status == 302)
            let third = try server.trustedClient()  // a third from 127.0.0.2: closed at once
            #expect(third.waitForClose())
            let elsewhere = try server.untrustedClient()  // 127.0.0.1 has its own count
            #expect(try elsewhere.exchange("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n").status == 302)

            #expect(try first.exchange("GET /2 HTTP/1.1\r\nHost: t\r\n\r\n").header("connection") == nil)
            let last = try first.exchange("GET /3 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(last.status == 302)
            #expect(last.header("connection") == "close")
            #expect(first.waitForClose())
            // With the first connection gone (once the server has seen it go), a new one from
            // 127.0.0.2 is accepted again.
            try await waitUntil("a new connection from 127.0.0.2 to be accepted") {
                (try? server.trustedClient().exchange("GET /4 HTTP/1.1\r\nHost: t\r\n\r\n").status) == 302
            }
        }
    }
}

@Suite struct ProxyProtocolTests {
    static func v2Header(_ address: [UInt8]) -> [UInt8] {
        [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0, 12] + address
            + [10, 0, 0, 1, 0x13, 0x88, 0, 80]
    }

    @Test func carriedAddressRoutesTheRequest() async throws {
        try await withServer(extra: ["proxy_protocol": true]) { server in
            // v1, then a request: routed by the carried London address, not the peer.
            let v1 = try server.trustedClient()
            let london = try v1.exchange(
                "PROXY TCP4 81.2.69.142 10.0.0.1 5000 80\r\nGET /p HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(london.header("x-geofront-region") == "eu-west")
            // The address holds for the whole connection.
            #expect(try v1.exchange("GET /q HTTP/1.1\r\nHost: t\r\n\r\n").header("x-geofront-region") == "eu-west")

            let v2 = try server.trustedClient()
            v2.send(Self.v2Header([89, 160, 20, 112]) + Array("GET /p HTTP/1.1\r\nHost: t\r\n\r\n".utf8))
            #expect(try v2.readResponse().header("x-geofront-region") == "eu-north")

            let six = try server.trustedClient()
            let tokyo = try six.exchange(
                "PROXY TCP6 2001:218::1 2001:db8::2 5000 443\r\nGET /p HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(tokyo.header("x-geofront-region") == "ap-northeast")

            let garbage = try server.trustedClient()
            garbage.send("PROXY NONSENSE\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(garbage.waitForClose())

            let plain = try server.trustedClient()  // no header at all
            plain.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(plain.waitForClose())

            let untrusted = try server.untrustedClient()  // 127.0.0.1 may not send a PROXY header
            #expect(untrusted.waitForClose())
        }
    }
}

/// A 429 is counted (`region="-"`, with the configuration's mode), logged, and counts toward
/// `max_requests_per_connection` the same way whether the configuration redirects or proxies.
@Suite(.serialized) struct RateLimitAccountingTests {
    enum Mode: String, CaseIterable { case redirect, proxy }

    @Test(arguments: Mode.allCases) func tooManyRequestsIsCountedAndLogged(mode: Mode) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let logPath = "\(folder.path)/access.log"
        let upstream = try TestUpstream(name: "u")
        defer { upstream.shutdown() }
        let extra: [String: Any] = [
            "rate_limit": ["requests_per_second": 1, "burst": 1], "access_log": ["path": logPath, "format": "json"],
        ]
        let server: FrontDoorServer
        switch mode {
        case .redirect:
            let data = try JSONSerialization.data(
                withJSONObject: TestServer.configJSON(server: ["max_requests_per_connection": 3], extra: extra))
            let config = try ConfigLoader.parse(data, baseDirectory: "/")
            var logger = Logger(label: "rate-limit-accounting")
            logger.logLevel = .critical
            server = try await FrontDoorServer.start(snapshot: try RoutingSnapshot.open(config: config), logger: logger)
        case .proxy:
            var withLimit = extra
            withLimit["server"] = ["threads": 1, "max_requests_per_connection": 3]
            server = try await ProxyFrontEndTests.start(upstream: upstream.address, extra: withLimit)
        }
        let client = try RawHTTPClient(port: server.localAddress!.port!, source: "127.0.0.2")
        var statuses: [Int] = []
        var lastConnection: String?
        for _ in 0..<3 {
            let response = try client.exchange(
                "GET /r HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 81.2.69.142\r\n\r\n")
            statuses.append(response.status)
            lastConnection = response.header("connection")
        }
        #expect(statuses.first != 429)
        #expect(statuses.dropFirst() == [429, 429])
        #expect(lastConnection == "close")  // the third request was the connection's last
        #expect(client.waitForClose())
        let metrics = server.metrics.exposition()
        // An unrouted 429 carries the configuration's mode.
        #expect(
            metrics.contains(#"geofront_requests_total{region="-",mode="\#(mode.rawValue)",status="429"} 2"#),
            "\(metrics)")
        try await server.stop()
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        let entries = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(entries.map { $0["status"] as? Int } == [statuses[0], 429, 429])
        #expect(entries.last?["region"] as? String == "-")
        #expect(entries.last?["client"] as? String == "81.2.69.142")
        #expect(entries.last?["target"] as? String == "/r")
    }
}
