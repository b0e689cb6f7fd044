import Foundation
import GeoFrontCore
import TestSupport
import Testing

/// Region capacity over loopback: a full region passes new requests to the next choice.
@Suite(.serialized, .timeLimit(.minutes(5))) struct CapacitySpilloverTests {
    /// eu-west (nearest to London) takes at most 4 requests in flight; its upstream holds every
    /// answer until released. 50 concurrent slow requests from London: 4 wait at eu-west, the other
    /// 46 spill to eu-central (the next nearest) and are answered, and once eu-west answers, its 4
    /// are too. Nothing fails, and the spillover is counted per pair.
    @Test func aFullRegionSpillsTheExcessToTheNextRegionAndNothingFails() async throws {
        let rig = try await ProxyRig(
            upstreams: ["eu-west": [("west", .held)], "eu-central": [("central", .echo)]],
            regionExtras: ["eu-west": ["capacity": ["max_active_requests": 4]]])
        let port = rig.port
        let west = rig.upstreams["eu-west"]![0]
        let request = "GET /slow HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: \(ProxyRig.london)\r\n\r\n"
        let (spilled, held) = try await offThePool { () throws -> ([String?], [RawHTTPResponse]) in
            let clients = try (0..<50).map { _ in try RawHTTPClient(port: port, source: "127.0.0.2", timeoutSeconds: 30)
            }
            // The first four are in flight at eu-west (it has seen them) before the rest are sent.
            for client in clients.prefix(4) { _ = client.send(request) }
            try waitUntilBlocking("eu-west holding 4 requests") { west.seen.count >= 4 }
            var names: [String?] = []
            for client in clients.dropFirst(4) {
                _ = client.send(request)
                names.append(try client.readResponse().upstreamName)
            }
            west.release()
            return (names, try clients.prefix(4).map { try $0.readResponse() })
        }
        #expect(spilled.count == 46)
        #expect(spilled.allSatisfy { $0 == "central" })
        #expect(held.map(\.status) == [200, 200, 200, 200])
        #expect(held.map(\.upstreamName) == ["west", "west", "west", "west"])
        let metrics = rig.server.metrics.exposition()
        #expect(metrics.contains(#"geofront_spillover_total{from="eu-west",to="eu-central"} 46"#))
        // With room again, eu-west answers.
        let again = try await offThePool {
            try RawHTTPClient(port: port, source: "127.0.0.2").exchange(request).upstreamName
        }
        #expect(again == "west")
        try await rig.stop()
    }
}
