import Testing

@testable import GeoIP

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("89.160.20.112", "89.160.20.112"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("2001:4860:4860::8888", "2001:4860:4860::8888"),
        ("2001:4860:4860:0:0:0:0:8888", "2001:4860:4860::8888"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("FE80::1", "fe80::1"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("::ffff:81.2.69.142", "::ffff:81.2.69.142"),
        ("::ffff:5102:458e", "::ffff:81.2.69.142"),
        ("64:ff9b::1.2.3.4", "64:ff9b::102:304"),
    ])
    func parsesAndPrintsCanonically(input: String, canonical: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.description == canonical)
        #expect(IPAddress(canonical) == address)
    }

    @Test(arguments: [
        "", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "1..2.3", "a.b.c.d", "1.2.3.4:80",
        ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7:", "[::1]", "::1%eth0",
        "::ffff:1.2.3", "1.2.3.4::", "unknown", "\u{0}", "1.2.3.-1",
    ])
    func rejectsMalformedText(input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func mappedAddressUnmapsToIPv4() throws {
        let mapped = try #require(IPAddress("::ffff:10.1.2.3"))
        #expect(mapped.family == .v6)
        #expect(mapped.isIPv4Mapped)
        #expect(mapped.unmapped == IPAddress("10.1.2.3"))
        #expect(IPAddress("2001:db8::1")!.unmapped == IPAddress("2001:db8::1"))
    }

    @Test(arguments: [
        ("10.0.0.0/8", "10.255.1.2", true),
        ("10.0.0.0/8", "11.0.0.1", false),
        ("10.0.0.0/8", "::ffff:10.9.9.9", true),
        ("0.0.0.0/0", "203.0.113.7", true),
        ("192.0.2.1/32", "192.0.2.1", true),
        ("192.0.2.1/32", "192.0.2.2", false),
        ("2001:db8::/32", "2001:db8:ffff::1", true),
        ("2001:db8::/32", "2001:db9::1", false),
        ("2001:db8::/32", "10.0.0.1", false),
        ("::1/128", "::1", true),
        ("2001:db8:0:0:8000::/65", "2001:db8::8000:0:0:1", true),
        ("2001:db8:0:0:8000::/65", "2001:db8::1", false),
    ])
    func networkContainment(network: String, address: String, expected: Bool) throws {
        let block = try #require(IPNetwork(network))
        let ip = try #require(IPAddress(address))
        #expect(block.contains(ip) == expected)
    }

    @Test(arguments: ["10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "::/129", "nonsense/8", "10.0.0.0/8/8"])
    func rejectsBadCIDR(text: String) {
        #expect(IPNetwork(text) == nil)
    }
}
