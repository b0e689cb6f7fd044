/// An IPv4 or IPv6 address held in two machine words: no heap storage, cheap to copy and compare.
///
/// IPv4 addresses keep their family; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) stays IPv6 until
/// ``unmapped`` turns it into the IPv4 address it carries.
public struct IPAddress: Hashable, Sendable {
    public enum Family: Sendable {
        case v4
        case v6
    }

    public let family: Family
    /// The upper 64 bits of the 128-bit address (zero for IPv4).
    public let high: UInt64
    /// The lower 64 bits of the 128-bit address (for IPv4 the address in the low 32 bits).
    public let low: UInt64

    public init(v4 address: UInt32) {
        self.family = .v4
        self.high = 0
        self.low = UInt64(address)
    }

    public init(v6 high: UInt64, _ low: UInt64) {
        self.family = .v6
        self.high = high
        self.low = low
    }

    /// The IPv4 address as a 32-bit number in host order; meaningful only for `.v4`.
    public var v4Value: UInt32 { UInt32(truncatingIfNeeded: low) }

    /// Whether this is an IPv6 address of the form `::ffff:a.b.c.d`.
    public var isIPv4Mapped: Bool {
        family == .v6 && high == 0 && (low >> 32) == 0xffff
    }

    /// The IPv4 address inside an IPv4-mapped IPv6 address, or the address itself.
    public var unmapped: IPAddress {
        isIPv4Mapped ? IPAddress(v4: UInt32(truncatingIfNeeded: low)) : self
    }

    /// Number of bits in an address of this family.
    public var bitWidth: Int { family == .v4 ? 32 : 128 }
}

extension IPAddress {
    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with an optional embedded IPv4 tail).
    /// Returns nil for anything else: no zone identifiers, ports or brackets.
    public init?(_ text: some StringProtocol) {
        var string = String(text)
        guard
            let parsed = string.withUTF8({ IPAddress(utf8: UnsafeRawBufferPointer($0)) })
        else { return nil }
        self = parsed
    }

    /// Parses an address from UTF-8 bytes without allocating.
    public init?(utf8 bytes: UnsafeRawBufferPointer) {
        if bytes.isEmpty || bytes.count > 45 { return nil }
        var sawColon = false
        for byte in bytes where byte == UInt8(ascii: ":") {
            sawColon = true
            break
        }
        if sawColon {
            guard let value = IPAddress.parseV6(bytes) else { return nil }
            self = value
        } else {
            guard let value = IPAddress.parseV4(bytes) else { return nil }
            self.init(v4: value)
        }
    }

    /// Strict dotted-quad: four decimal parts 0...255, no leading zeros (they are ambiguous octal elsewhere).
    static func parseV4(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        var result: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        var leadingZero = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits == 1 && leadingZero { return nil }
                if digits == 0 && byte == UInt8(ascii: "0") { leadingZero = true }
                part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                if digits > 3 || part > 255 { return nil }
            case UInt8(ascii: "."):
                if digits == 0 || parts == 3 { return nil }
                result = result << 8 | part
                parts += 1
                part = 0
                digits = 0
                leadingZero = false
            default:
                return nil
            }
        }
        if digits == 0 || parts != 3 { return nil }
        return result << 8 | part
    }

    static func parseV6(_ bytes: UnsafeRawBufferPointer) -> IPAddress? {
        // Up to eight 16-bit groups; `::` marks where the zero run goes.
        var groups: (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var gapAt = -1
        var index = 0
        let end = bytes.count

        func set(_ position: Int, _ value: UInt16) {
            withUnsafeMutableBytes(of: &groups) { raw in
                raw.storeBytes(of: value, toByteOffset: position * 2, as: UInt16.self)
            }
        }
        func get(_ position: Int) -> UInt16 {
            withUnsafeBytes(of: groups) { raw in raw.load(fromByteOffset: position * 2, as: UInt16.self) }
        }

        if end >= 2 && bytes[0] == UInt8(ascii: ":") {
            guard bytes[1] == UInt8(ascii: ":") else { return nil }
            gapAt = 0
            index = 2
            if index == end { return IPAddress(v6: 0, 0) }
        }
        while index < end {
            // Read one group, or an IPv4 tail.
            let start = index
            var value: UInt32 = 0
            var digits = 0
            while index < end, let nibble = hexValue(bytes[index]) {
                value = value << 4 | UInt32(nibble)
                digits += 1
                index += 1
                if digits > 4 { return nil }
            }
            if index < end && bytes[index] == UInt8(ascii: ".") {
                // Embedded IPv4 in the last 32 bits.
                guard count <= 6,
                    let v4 = parseV4(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                else { return nil }
                set(count, UInt16(truncatingIfNeeded: v4 >> 16))
                set(count + 1, UInt16(truncatingIfNeeded: v4))
                count += 2
                index = end
                break
            }
            if digits == 0 { return nil }
            if count == 8 { return nil }
            set(count, UInt16(value))
            count += 1
            if index == end { break }
            guard bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            if index < end && bytes[index] == UInt8(ascii: ":") {
                if gapAt >= 0 { return nil }
                gapAt = count
                index += 1
                if index == end { break }
            } else if index == end {
                return nil  // trailing single colon
            }
        }
        if gapAt >= 0 {
            if count == 8 { return nil }
            // Move the groups after the gap to the end.
            let tail = count - gapAt
            var moved = 0
            while moved < tail {
                let from = count - 1 - moved
                let to = 7 - moved
                set(to, get(from))
                set(from, 0)
                moved += 1
            }
            var zero = gapAt
            while zero < 8 - tail {
                set(zero, 0)
                zero += 1
            }
        } else if count != 8 {
            return nil
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for position in 0..<4 { high = high << 16 | UInt64(get(position)) }
        for position in 4..<8 { low = low << 16 | UInt64(get(position)) }
        return IPAddress(v6: high, low)
    }

    /// The value of one hexadecimal digit.
    @inline(__always)
    public static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension IPAddress: CustomStringConvertible {
    /// Canonical text: dotted quad, or RFC 5952 IPv6 (longest zero run compressed, lower case,
    /// `::ffff:a.b.c.d` for mapped addresses).
    public var description: String {
        switch family {
        case .v4:
            let value = v4Value
            return "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
        case .v6:
            if isIPv4Mapped {
                return "::ffff:" + IPAddress(v4: UInt32(truncatingIfNeeded: low)).description
            }
            var groups = [UInt16](repeating: 0, count: 8)
            for position in 0..<4 {
                groups[position] = UInt16(truncatingIfNeeded: high >> UInt64(48 - 16 * position))
                groups[position + 4] = UInt16(truncatingIfNeeded: low >> UInt64(48 - 16 * position))
            }
            // Longest run of two or more zero groups; the first one wins a tie.
            var bestStart = -1
            var bestLength = 1
            var position = 0
            while position < 8 {
                if groups[position] == 0 {
                    var length = 0
                    while position + length < 8 && groups[position + length] == 0 { length += 1 }
                    if length > bestLength {
                        bestStart = position
                        bestLength = length
                    }
                    position += length
                } else {
                    position += 1
                }
            }
            var text = ""
            position = 0
            while position < 8 {
                if position == bestStart {
                    text += "::"
                    position += bestLength
                    continue
                }
                if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
                text += String(groups[position], radix: 16)
                position += 1
            }
            return text
        }
    }
}
