import Foundation
import TestSupport
import Testing

@testable import GeoFrontServer

/// gRPC through the proxy: a real gRPC service and client (Python `grpcio`,
/// `Tests/Fixtures/grpc_service.py`) with GeoFront between them, h2c on both sides. Unary, server
/// streaming and bidirectional calls pass with their trailers (status, message, custom trailing
/// metadata); a deadline GeoFront enforces itself, and upstream failures before and during a
/// response, end with the gRPC statuses a client expects (DEADLINE_EXCEEDED, UNAVAILABLE).
@Suite(.serialized) struct GRPCProxyTests {
    struct Call: Decodable {
        let code: String
        let details: String
        let messages: [String]
        let trailers: [String: String]
    }

    /// One call of `grpc_service.py call` through GeoFront on `port` (over TLS, trusting `ca`,
    /// when it is given).
    static func call(_ port: Int, _ name: String, timeout: Double = 20, ca: String? = nil) async throws -> Call {
        let output = try await offThePool {
            try H2Clients.run(
                ["python3", Fixtures.fixture("grpc_service.py"), "call", String(port), name, String(timeout)]
                    + (ca.map { ["--tls", $0] } ?? []))
        }
        guard output.code == 0, let line = output.output.split(separator: "\n").last else {
            throw H2Clients.Failed(description: "grpc_service.py call \(name) exited with \(output.code)")
        }
        return try JSONDecoder().decode(Call.self, from: Data(line.utf8))
    }

    static func start(upstream: String) async throws -> FrontDoorServer {
        try await ProxyFrontEndTests.start(
            upstream: ["address": upstream, "protocol": "h2"], extra: ["server": ["threads": 1, "h2c": true]])
    }

    @Test func unaryStreamingAndBidirectionalCallsPassWithTheirTrailers() async throws {
        let service = try await offThePool { try PythonService("grpc_service.py", ["serve"]) }
        defer { service.stop() }
        let server = try await Self.start(upstream: service.address)
        let port = server.localAddress!.port!

        let unary = try await Self.call(port, "unary")
        #expect(unary.code == "OK")
        #expect(unary.messages == ["hello through geofront"])
        #expect(unary.trailers["x-checksum"] == "22", "custom trailing metadata: \(unary.trailers)")

        let stream = try await Self.call(port, "stream")
        #expect(stream.code == "OK")
        #expect(stream.messages == (0..<50).map(String.init))

        // Each message waits for the answer to the one before: only a full-duplex path passes.
        let chat = try await Self.call(port, "chat")
        #expect(chat.code == "OK")
        #expect(chat.messages == ["ALPHA", "BETA", "GAMMA", "DELTA"])

        // The service's own error status and message travel in trailers.
        let failed = try await Self.call(port, "fail")
        #expect(failed.code == "NOT_FOUND")
        #expect(failed.details == "no such thing: widget")

        // A deadline the client sets (sent as grpc-timeout) ends the call in time.
        let slow = try await Self.call(port, "slow", timeout: 0.5)
        #expect(slow.code == "DEADLINE_EXCEEDED")
        try await server.stop()
    }

    @Test func callsPassOnTheTLSListenerWithALPN() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let certificates = try TestCertificates(in: folder)
        let service = try await offThePool { try PythonService("grpc_service.py", ["serve"]) }
        defer { service.stop() }
        let server = try await ProxyFrontEndTests.start(
            upstream: ["address": service.address, "protocol": "h2"],
            extra: [
                "tls": [
                    "listen": "127.0.0.1:0",
                    "certificates": [
                        ["certificate": certificates.serverCertificate, "private_key": certificates.serverKey]
                    ],
                ]
            ])
        let port = server.secureAddress!.port!
        let unary = try await Self.call(port, "unary", ca: certificates.caCertificate)
        #expect(unary.code == "OK", "\(unary)")
        #expect(unary.trailers["x-checksum"] == "22")
        let chat = try await Self.call(port, "chat", ca: certificates.caCertificate)
        #expect(chat.messages == ["ALPHA", "BETA", "GAMMA", "DELTA"])
        try await server.stop()
    }

    @Test func geoFrontsOwnRefusalsAreGRPCStatuses() async throws {
        let service = try await offThePool { try PythonService("grpc_service.py", ["serve"]) }
        defer { service.stop() }
        // Over the rate limit: RESOURCE_EXHAUSTED (not retried at once, unlike UNAVAILABLE).
        let limited = try await ProxyFrontEndTests.start(
            upstream: ["address": service.address, "protocol": "h2"],
            extra: [
                "server": ["threads": 1, "h2c": true],
                "rate_limit": ["requests_per_second": 0.001, "burst": 1],
            ])
        let port = limited.localAddress!.port!
        #expect(try await Self.call(port, "unary").code == "OK")
        let refused = try await Self.call(port, "unary")
        #expect(refused.code == "RESOURCE_EXHAUSTED", "\(refused)")
        #expect(refused.details == "GeoFront: rate limited")
        try await limited.stop()

        // Every region drained, and `when_all_down: unavailable`: UNAVAILABLE, not a 503 page.
        let upstream: [String: Any] = ["address": service.address, "protocol": "h2"]
        let drained = try await ProxyFrontEndTests.start(
            upstream: upstream,
            extra: [
                "server": ["threads": 1, "h2c": true], "when_all_down": "unavailable",
                "regions": [
                    [
                        "name": "only", "location": ["latitude": 50.0, "longitude": 8.0], "upstreams": [upstream],
                        "drain": true,
                    ]
                ],
            ])
        let down = try await Self.call(drained.localAddress!.port!, "unary")
        #expect(down.code == "UNAVAILABLE", "\(down)")
        #expect(down.details == "GeoFront: no region available")
        try await drained.stop()
    }

    @Test func geoFrontEnforcesGRPCTimeoutAndCancelsTheUpstreamStream() async throws {
        // An upstream that never answers and ignores grpc-timeout: the deadline is GeoFront's.
        let upstream = try await offThePool { try PythonService("h2upstream.py") }
        defer { upstream.stop() }
        let server = try await Self.start(upstream: upstream.address)
        let output = try await offThePool {
            try H2Clients.run([
                "curl", "-sS", "-i", "--max-time", "20", "--http2-prior-knowledge", "-H",
                "content-type: application/grpc",
                "-H", "grpc-timeout: 300m", "-H", "te: trailers", "--data-binary", "\u{0}\u{0}\u{0}\u{0}\u{0}",
                "http://127.0.0.1:\(server.localAddress!.port!)/hang",
            ])
        }.output
        #expect(output.hasPrefix("HTTP/2 200"), "\(output)")
        #expect(output.contains("grpc-status: 4\r\n"), "\(output)")
        #expect(output.contains("grpc-message: GeoFront: deadline exceeded"), "\(output)")
        try await waitUntil("the upstream stream cancelled") {
            try await H2UpstreamTests.stats(upstream).resets == 1
        }
        try await server.stop()
    }

    @Test func upstreamDeathIsUnavailableBeforeAndDuringTheResponse() async throws {
        let service = try await offThePool { try PythonService("grpc_service.py", ["serve"]) }
        defer { service.stop() }
        let server = try await Self.start(upstream: service.address)
        let port = server.localAddress!.port!

        // The service process dies after 3 messages of a stream.
        let died = try await Self.call(port, "stream-die")
        #expect(died.code == "UNAVAILABLE", "\(died)")
        #expect(died.messages == ["0", "1", "2"])
        #expect(died.details == "GeoFront: upstream connection lost")
        try await waitUntil("the service process gone") { !service.isRunning }

        // Nobody listens any more: refused before any response.
        let refused = try await Self.call(port, "unary")
        #expect(refused.code == "UNAVAILABLE", "\(refused)")
        #expect(refused.details == "GeoFront: upstream unavailable")
        try await server.stop()
    }
}
