import GeoFrontCore
import Testing

/// The byte matcher and the name list are one definition: every listed name matches in any case,
/// and near misses do not.
@Suite struct HopByHopTests {
    static func matches(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return bytes.withUnsafeBytes { HopByHop.contains($0, RequestHead.Span(start: 0, count: bytes.count)) }
    }

    @Test func everyListedNameMatches() {
        for name in HopByHop.names {
            #expect(Self.matches(name), "\(name)")
            #expect(Self.matches(name.uppercased()), "\(name)")
        }
    }

    @Test(arguments: ["host", "tee", "upgrades", "trailers", "x-connection", "keep-alivex", "transfer-encodinG2", ""])
    func otherNamesDoNot(_ name: String) {
        #expect(!Self.matches(name))
    }

    @Test func namesListedInConnection() {
        let head = Array("Connection: X-Hop\r\nx-hop: 1\r\nOther: 2\r\n".utf8)
        head.withUnsafeBytes { bytes in
            let listed = [RequestHead.Span(start: 12, count: 5)]
            #expect(HopByHop.isNamed(bytes, RequestHead.Span(start: 19, count: 5), in: listed))
            #expect(!HopByHop.isNamed(bytes, RequestHead.Span(start: 29, count: 5), in: listed))
            #expect(!HopByHop.isNamed(bytes, RequestHead.Span(start: 19, count: 5), in: []))
        }
    }
}
