import Foundation
import TestSupport
import Testing

/// A flood of 500,000 distinct client addresses (each behind a trusted proxy's
/// `X-Forwarded-For`) against a rate-limited `geofront serve` process: the limiter tracks at most
/// `max_tracked_clients` of them, so resident memory grows by less than the documented bound, and
/// an abusive client is still limited afterwards.
@Suite(.serialized, .timeLimit(.minutes(10))) struct RateLimitFloodTests {
    static let addresses = 500_000
    static let batch = 500
    /// README (Security): 100,000 tracked clients per event loop cost under 100 bytes each; the
    /// bound leaves room for allocator slack.
    static let bound = 32 * 1024 * 1024

    @Test func distinctAddressFloodKeepsMemoryBounded() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = try folder.write(
            "regions.json",
            """
            {"listen": "127.0.0.1:0", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "trusted_proxies": ["127.0.0.0/8"], "server": {"threads": 1, "max_requests_per_connection": 0}, "admin": {"listen": "127.0.0.1:0"},
             "rate_limit": {"requests_per_second": 1, "burst": 2, "max_tracked_clients": 100000},
             "regions": [{"name": "only", "location": {"latitude": 0, "longitude": 0}, "redirect_url": "https://only.example.test"}]}
            """)
        let serve = try ServeProcess(configPath: config)
        defer { serve.stop() }
        let pid = serve.process.processIdentifier
        let port = serve.port
        // The load runs on a thread of its own: a test that blocks one of swift-testing's few pool
        // threads for long stalls every other test.
        let run = try await offThePool {
            let connection = try RawHTTPClient(port: port, timeoutSeconds: 30)
            let warm = try connection.exchange("GET /warm HTTP/1.1\r\nHost: h\r\n\r\n").status
            let baseline = ProxyMemoryTests.residentBytes(of: pid)
            let sampler = ProxyMemoryTests.Sampler(pid: pid)
            // Addresses 20.0.0.0 upwards, one request each, pipelined in batches.
            var tally: [Int: Int] = [:]
            var sentAll = true
            for start in stride(from: 0, to: Self.addresses, by: Self.batch) {
                var requests: [UInt8] = []
                requests.reserveCapacity(Self.batch * 64)
                for index in start..<min(start + Self.batch, Self.addresses) {
                    let address = 0x1400_0000 + index
                    requests.append(
                        contentsOf:
                            "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(address >> 24).\((address >> 16) & 255).\((address >> 8) & 255).\(address & 255)\r\n\r\n"
                            .utf8)
                }
                if !connection.send(requests) { sentAll = false }
                tally.merge(try connection.tallyStatuses(min(Self.batch, Self.addresses - start)), uniquingKeysWith: +)
            }
            // One abusive client after the flood: burst 2, then 429.
            var abusive: [UInt8] = []
            for _ in 0..<10 {
                abusive += Array("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n".utf8)
            }
            if !connection.send(abusive) { sentAll = false }
            let burst = try connection.tallyStatuses(10)
            return (warm: warm, baseline: baseline, peak: sampler.stop(), tally: tally, burst: burst, sentAll: sentAll)
        }
        #expect(run.warm == 302)
        #expect(run.sentAll)
        let (baseline, peak, tally, burst) = (run.baseline, run.peak, run.tally, run.burst)

        let growth = peak - baseline
        print(
            "rate-limit flood: \(Self.addresses) distinct addresses: \(tally[302, default: 0]) × 302, "
                + "\(tally[429, default: 0]) × 429; RSS baseline \(baseline / 1_048_576) MiB, peak \(peak / 1_048_576) MiB, "
                + "growth \(growth / 1_048_576) MiB; then one client: \(burst[302, default: 0]) × 302, \(burst[429, default: 0]) × 429"
        )
        // Every distinct address gets its first request through.
        #expect(tally == [302: Self.addresses])
        #expect(burst == [302: 2, 429: 8])
        #expect(growth < Self.bound)
    }
}
