import GeoIP
import Testing

@testable import GeoFrontCore

@Suite struct RateLimiterTests {
    static let second: UInt64 = 1_000_000_000

    @Test func burstThenRate() {
        var settings = RateLimitSettings(requestsPerSecond: 2, burst: 5)
        settings.maxTrackedClients = 100
        var limiter = RateLimiter(settings: settings)
        let client = IPAddress("203.0.113.7")!
        let allowed = (0..<8).map { _ in limiter.allow(client, now: Self.second).allowed }
        #expect(allowed == [true, true, true, true, true, false, false, false])
        #expect(limiter.allow(client, now: Self.second).retryAfterSeconds == 1)
        // Half a second later one token is back (2 per second).
        #expect(limiter.allow(client, now: Self.second + Self.second / 2).allowed)
        #expect(!limiter.allow(client, now: Self.second + Self.second / 2).allowed)
        // Other clients are unaffected.
        #expect(limiter.allow(IPAddress("203.0.113.8")!, now: Self.second).allowed)
    }

    @Test func allowListAndPrefixKeys() {
        var settings = RateLimitSettings(requestsPerSecond: 1, burst: 1)
        settings.allow = [IPNetwork("10.0.0.0/8")!]
        settings.key = .prefix
        var limiter = RateLimiter(settings: settings)
        for _ in 0..<5 { #expect(limiter.allow(IPAddress("10.1.2.3")!, now: 0).allowed) }
        #expect(limiter.allow(IPAddress("198.51.100.1")!, now: 0).allowed)
        #expect(!limiter.allow(IPAddress("198.51.100.200")!, now: 0).allowed)  // same /24
        #expect(limiter.allow(IPAddress("2001:db8:0:1::1")!, now: 0).allowed)
        #expect(!limiter.allow(IPAddress("2001:db8:0:1:ffff::2")!, now: 0).allowed)  // same /64
        #expect(limiter.allow(IPAddress("2001:db8:0:2::1")!, now: 0).allowed)
    }

    /// 500,000 distinct addresses: the limiter keeps at most `max_tracked_clients` buckets, evicting
    /// the least recently seen; a client seen recently keeps its (empty) bucket.
    @Test func floodOfDistinctAddressesStaysBounded() {
        var settings = RateLimitSettings(requestsPerSecond: 1, burst: 1)
        settings.maxTrackedClients = 10_000
        var limiter = RateLimiter(settings: settings)
        let regular = IPAddress("192.0.2.1")!
        #expect(limiter.allow(regular, now: 0).allowed)
        for index in 0..<500_000 {
            let address = IPAddress(v4: 0x0B00_0000 &+ UInt32(index))
            #expect(limiter.allow(address, now: 0).allowed || index < 0)
            if index % 1000 == 0 { _ = limiter.allow(regular, now: 0) }  // keeps it recent
            if limiter.count > 10_000 { Issue.record("tracked \(limiter.count)") }
        }
        #expect(limiter.count == 10_000)
        #expect(!limiter.allow(regular, now: 0).allowed)  // still remembered, still limited
    }
}
