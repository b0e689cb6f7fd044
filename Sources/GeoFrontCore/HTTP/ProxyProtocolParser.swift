import GeoIP

/// The PROXY protocol header an L4 load balancer puts before the first byte of a connection
/// (HAProxy's specification, versions 1 and 2), parsed strictly.
public enum ProxyProtocolParser {
    public enum Outcome: Sendable, Equatable {
        case incomplete
        /// The header is `consumed` bytes long; `source` is the client it carries (nil for
        /// `UNKNOWN` / `LOCAL` / non-IP families: use the TCP peer).
        case complete(consumed: Int, source: IPAddress?)
    }

    public struct Malformed: Error, Sendable, Equatable {}

    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(Malformed) -> Outcome {
        guard let first = bytes.first else { return .incomplete }
        if first == 0x0D { return try parseV2(bytes) }
        if first == UInt8(ascii: "P") { return try parseV1(bytes) }
        throw Malformed()
    }

    /// `PROXY TCP4|TCP6 src dst sport dport\r\n` or `PROXY UNKNOWN...\r\n`, at most 107 bytes.
    private static func parseV1(_ bytes: UnsafeRawBufferPointer) throws(Malformed) -> Outcome {
        let prefix = Array("PROXY ".utf8)
        for (index, byte) in prefix.enumerated() where index < bytes.count {
            guard bytes[index] == byte else { throw Malformed() }
        }
        guard let end = (0..<min(bytes.count, 107)).first(where: { bytes[$0] == UInt8(ascii: "\n") }) else {
            if bytes.count >= 107 { throw Malformed() }
            return .incomplete
        }
        guard end >= 1, bytes[end - 1] == UInt8(ascii: "\r") else { throw Malformed() }
        let line = String(decoding: bytes[prefix.count..<(end - 1)], as: UTF8.self)
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        if fields.first == "UNKNOWN" { return .complete(consumed: end + 1, source: nil) }
        guard fields.count == 5, fields[0] == "TCP4" || fields[0] == "TCP6",
            let source = IPAddress(fields[1]), let destination = IPAddress(fields[2]),
            isPort(fields[3]), isPort(fields[4])
        else { throw Malformed() }
        let family: IPAddress.Family = fields[0] == "TCP4" ? .v4 : .v6
        guard source.family == family, destination.family == family else { throw Malformed() }
        return .complete(consumed: end + 1, source: source)
    }

    private static func isPort(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
            !(text.count > 1 && text.first == "0"), let value = Int(text), value <= 65535
        else { return false }
        return true
    }

    /// Binary: signature, version/command, family/protocol, length, addresses, TLVs (skipped).
    private static func parseV2(_ bytes: UnsafeRawBufferPointer) throws(Malformed) -> Outcome {
        for (index, byte) in v2Signature.enumerated() where index < bytes.count {
            guard bytes[index] == byte else { throw Malformed() }
        }
        guard bytes.count >= 16 else { return .incomplete }
        let versionCommand = bytes[12]
        guard versionCommand >> 4 == 2 else { throw Malformed() }
        let command = versionCommand & 0x0F
        guard command <= 1 else { throw Malformed() }
        let familyProtocol = bytes[13]
        let length = Int(bytes[14]) << 8 | Int(bytes[15])
        guard bytes.count >= 16 + length else { return .incomplete }
        let consumed = 16 + length
        // LOCAL (health checks of the balancer itself): the TCP peer stands.
        if command == 0 { return .complete(consumed: consumed, source: nil) }
        switch familyProtocol {
        case 0x11, 0x12:  // TCP or UDP over IPv4: src(4) dst(4) sport(2) dport(2)
            guard length >= 12 else { throw Malformed() }
            var value: UInt32 = 0
            for index in 16..<20 { value = value << 8 | UInt32(bytes[index]) }
            return .complete(consumed: consumed, source: IPAddress(v4: value))
        case 0x21, 0x22:  // over IPv6: src(16) dst(16) sport(2) dport(2)
            guard length >= 36 else { throw Malformed() }
            var high: UInt64 = 0
            var low: UInt64 = 0
            for index in 16..<24 { high = high << 8 | UInt64(bytes[index]) }
            for index in 24..<32 { low = low << 8 | UInt64(bytes[index]) }
            return .complete(consumed: consumed, source: IPAddress(v6: high, low))
        case 0x00, 0x31, 0x32:  // UNSPEC, AF_UNIX: no IP to take
            return .complete(consumed: consumed, source: nil)
        default:
            throw Malformed()
        }
    }
}
