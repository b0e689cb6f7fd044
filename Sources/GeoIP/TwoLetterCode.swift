/// A two-letter upper-case code (ISO 3166-1 country, or continent such as `EU`) held in two bytes,
/// so that a lookup result carries it without a heap-allocated string.
public struct TwoLetterCode: Hashable, Sendable {
    public let rawValue: UInt16

    /// Accepts exactly two ASCII letters; lower case is folded to upper case.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 2 else { return nil }
        self.init(first: bytes[0], second: bytes[1])
    }

    public init?(first: UInt8, second: UInt8) {
        func upper(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte
            case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte - 32
            default: return nil
            }
        }
        guard let a = upper(first), let b = upper(second) else { return nil }
        rawValue = UInt16(a) << 8 | UInt16(b)
    }

    /// 0...675, for tables indexed by code.
    public var index: Int {
        Int(rawValue >> 8 - UInt16(UInt8(ascii: "A"))) * 26 + Int(rawValue & 0xff - UInt16(UInt8(ascii: "A")))
    }
}

extension TwoLetterCode: CustomStringConvertible {
    public var description: String {
        String(
            decoding: [UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)], as: UTF8.self)
    }
}
