import GeoIP
import Testing

@testable import GeoFrontCore

@Suite struct ClientIPResolverTests {
    static let resolver = ClientIPResolver(
        trustedProxies: ["127.0.0.0/8", "10.0.0.0/8", "::1/128", "fd00::/8"].map { IPNetwork($0)! })

    static func resolve(peer: String, xff: [String] = [], forwarded: [String] = []) -> ClientIP {
        resolver.resolve(peer: IPAddress(peer)!, xForwardedFor: xff, forwarded: forwarded)
    }

    @Test func untrustedPeerHeadersAreIgnored() {
        let client = Self.resolve(peer: "203.0.113.9", xff: ["89.160.20.112"], forwarded: ["for=89.160.20.112"])
        #expect(client == ClientIP(address: IPAddress("203.0.113.9")!, source: .peer))
    }

    @Test func noTrustedProxiesConfiguredMeansPeerAlways() {
        let resolver = ClientIPResolver(trustedProxies: [])
        let client = resolver.resolve(peer: IPAddress("127.0.0.1")!, xForwardedFor: ["1.2.3.4"], forwarded: [String]())
        #expect(client.source == .peer)
    }

    @Test(arguments: [
        // header values, expected client
        (["89.160.20.112"], "89.160.20.112"),
        (["89.160.20.112, 10.0.0.2"], "89.160.20.112"),  // trusted hop skipped
        (["1.1.1.1, 89.160.20.112, 10.0.0.2, 127.0.0.1"], "89.160.20.112"),  // spoofed left part ignored
        (["1.1.1.1", "89.160.20.112"], "89.160.20.112"),  // several header lines: the last is nearest
        (["10.0.0.5, 10.0.0.2"], "10.0.0.5"),  // all trusted: the leftmost
        (["2001:db8::7"], "2001:db8::7"),
        (["[2001:db8::7]:443"], "2001:db8::7"),
        (["89.160.20.112:5000"], "89.160.20.112"),
        (["::ffff:89.160.20.112"], "89.160.20.112"),
        ([" 89.160.20.112 ,, "], "89.160.20.112"),  // whitespace and empty elements
        (["fd00::1, 89.160.20.112"], "89.160.20.112"),
    ])
    func xForwardedForFromTrustedPeer(values: [String], expected: String) {
        let client = Self.resolve(peer: "127.0.0.1", xff: values)
        #expect(client.address == IPAddress(expected)!)
        #expect(client.source == .xForwardedFor || IPAddress(expected)! == IPAddress("127.0.0.1")!)
    }

    @Test(arguments: [
        ["garbage"], ["89.160.20.112, garbage"], ["1.2.3.4.5"], ["<script>"], ["89.160.20.112:99999999"],
        ["unknown"], ["[::1"], ["1.2.3.4\r\nX: y"], [String(repeating: "9", count: 5000)],
    ])
    func malformedEntriesFallBackToThePeer(values: [String]) {
        let client = Self.resolve(peer: "10.1.1.1", xff: values)
        #expect(client == ClientIP(address: IPAddress("10.1.1.1")!, source: .peer))
    }

    @Test func garbageBeyondTheFirstUntrustedEntryDoesNotMatter() {
        let client = Self.resolve(peer: "127.0.0.1", xff: ["garbage, 89.160.20.112"])
        #expect(client.address == IPAddress("89.160.20.112")!)
    }

    @Test(arguments: [
        (["for=89.160.20.112"], "89.160.20.112"),
        (["For=\"[2001:db8:cafe::17]:4711\""], "2001:db8:cafe::17"),
        (["for=192.0.2.60;proto=http;by=203.0.113.43"], "192.0.2.60"),
        (["proto=https;for=192.0.2.60"], "192.0.2.60"),
        (["for=192.0.2.43, for=10.0.0.9"], "192.0.2.43"),
        (["for=192.0.2.43", "for=\"10.0.0.9:80\""], "192.0.2.43"),
        (["for=\"192.0.2.43:8080\""], "192.0.2.43"),
    ])
    func forwardedHeader(values: [String], expected: String) {
        let client = Self.resolve(peer: "::1", forwarded: values)
        #expect(client == ClientIP(address: IPAddress(expected)!, source: .forwarded))
    }

    @Test(arguments: [["for=unknown"], ["for=_hidden"], ["proto=https"], ["for="], ["for=\"[::1\""]])
    func forwardedWithoutAnAddressFallsBackToThePeer(values: [String]) {
        #expect(Self.resolve(peer: "::1", forwarded: values).source == .peer)
    }

    @Test func xForwardedForWinsOverForwarded() {
        let client = Self.resolve(peer: "127.0.0.1", xff: ["89.160.20.112"], forwarded: ["for=1.1.1.1"])
        #expect(client.address == IPAddress("89.160.20.112")!)
    }

    @Test func mappedPeerIsTreatedAsIPv4() {
        let client = Self.resolve(peer: "::ffff:127.0.0.1", xff: ["89.160.20.112"])
        #expect(client.address == IPAddress("89.160.20.112")!)
    }
}
