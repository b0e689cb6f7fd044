import GeoIP
import Testing

@testable import GeoFrontCore

@Suite struct ProxyProtocolParserTests {
    static func parse(_ bytes: [UInt8]) -> Result<ProxyProtocolParser.Outcome, ProxyProtocolParser.Malformed> {
        bytes.withUnsafeBytes { raw in
            do throws(ProxyProtocolParser.Malformed) { return .success(try ProxyProtocolParser.parse(raw)) } catch {
                return .failure(error)
            }
        }
    }

    static func v2(command: UInt8 = 0x21, family: UInt8, addresses: [UInt8]) -> [UInt8] {
        [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, command, family]
            + [UInt8(addresses.count >> 8), UInt8(addresses.count & 0xff)] + addresses
    }

    @Test func versionOne() throws {
        let header = Array("PROXY TCP4 81.2.69.142 10.0.0.1 5000 80\r\nGET".utf8)
        #expect(try Self.parse(header).get() == .complete(consumed: header.count - 3, source: IPAddress("81.2.69.142")))
        let six = Array("PROXY TCP6 2001:db8::1 2001:db8::2 5000 443\r\n".utf8)
        #expect(try Self.parse(six).get() == .complete(consumed: six.count, source: IPAddress("2001:db8::1")))
        #expect(try Self.parse(Array("PROXY UNKNOWN\r\n".utf8)).get() == .complete(consumed: 15, source: nil))
        #expect(try Self.parse(Array("PROXY TCP4 81.2".utf8)).get() == .incomplete)
    }

    @Test func versionTwo() throws {
        let four = Self.v2(family: 0x11, addresses: [81, 2, 69, 142, 10, 0, 0, 1, 0x13, 0x88, 0, 80])
        #expect(try Self.parse(four).get() == .complete(consumed: four.count, source: IPAddress("81.2.69.142")))
        var address = [UInt8](repeating: 0, count: 36)
        address[0] = 0x20
        address[1] = 0x01
        address[2] = 0x0d
        address[3] = 0xb8
        address[15] = 1
        let six = Self.v2(family: 0x21, addresses: address)
        #expect(try Self.parse(six).get() == .complete(consumed: six.count, source: IPAddress("2001:db8::1")))
        let local = Self.v2(command: 0x20, family: 0x00, addresses: [])
        #expect(try Self.parse(local).get() == .complete(consumed: 16, source: nil))
        #expect(try Self.parse(Array(four.prefix(20))).get() == .incomplete)
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\n", "PROXY TCP4 81.2.69.142 10.0.0.1 5000\r\n", "PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n",
        "PROXY TCP4 81.2.69.142 10.0.0.1 5000 99999\r\n", "PROXY TCP4 81.2.69.142 10.0.0.1 5000 80\n",
        "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", "PROXY  TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
    ])
    func malformedVersionOne(text: String) {
        #expect(throws: ProxyProtocolParser.Malformed.self) { try Self.parse(Array(text.utf8)).get() }
    }

    @Test func malformedVersionTwo() {
        #expect(throws: ProxyProtocolParser.Malformed.self) {
            try Self.parse(Self.v2(command: 0x31, family: 0x11, addresses: [UInt8](repeating: 0, count: 12))).get()
        }
        #expect(throws: ProxyProtocolParser.Malformed.self) {
            try Self.parse(Self.v2(family: 0x11, addresses: [1, 2, 3])).get()
        }
        #expect(throws: ProxyProtocolParser.Malformed.self) {
            try Self.parse(Self.v2(family: 0x41, addresses: [])).get()
        }
    }
}
