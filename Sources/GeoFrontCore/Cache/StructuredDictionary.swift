/// A Structured Field Dictionary (RFC 8941 §3.2, parsed as §4.2.2 says), as the targeted cache
/// fields of RFC 9213 use it: strict, so that a value that is not a valid dictionary is refused
/// whole (nil) rather than read in part. Members keep their order; a repeated key keeps its last
/// value (§4.2.2). Parameters are checked and dropped: no directive here uses them.
public enum StructuredDictionary {
    /// A member's value (an inner list is kept only as such: no directive takes one).
    public enum Value: Sendable, Equatable {
        case integer(Int)
        case decimal(Double)
        case string(String)
        case token(String)
        case bytes
        case boolean(Bool)
        case innerList
    }

    /// A Token's characters after its first (RFC 8941 §3.3.4): RFC 9110's tchar, `:` and `/`.
    @inlinable
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        RequestHeadParser.isTokenByte(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "/")
    }

    /// The members of `bytes` (one field value, or the field's lines joined with `, `), or nil when
    /// it is not a valid dictionary.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> [(key: String, value: Value)]? {
        var parser = Parser(bytes: bytes)
        return parser.dictionary()
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        var atEnd: Bool { index >= bytes.count }
        var current: UInt8 { bytes[index] }

        mutating func skipSpaces() {
            while !atEnd && current == 0x20 { index += 1 }
        }

        mutating func skipOWS() {
            while !atEnd && (current == 0x20 || current == 0x09) { index += 1 }
        }

        /// §4.2 and §4.2.2: leading and trailing spaces, members separated by `,` and OWS.
        mutating func dictionary() -> [(key: String, value: Value)]? {
            var members: [(key: String, value: Value)] = []
            skipSpaces()
            while !atEnd {
                guard let key = key() else { return nil }
                let value: Value
                if !atEnd && current == UInt8(ascii: "=") {
                    index += 1
                    if !atEnd && current == UInt8(ascii: "(") {
                        guard innerList() else { return nil }
                        value = .innerList
                    } else {
                        guard let item = bareItem(), parameters() else { return nil }
                        value = item
                    }
                } else {
                    guard parameters() else { return nil }
                    value = .boolean(true)
                }
                if let existing = members.firstIndex(where: { $0.key == key }) {
                    members[existing].value = value
                } else {
                    members.append((key, value))
                }
                skipOWS()
                if atEnd { return members }
                guard current == UInt8(ascii: ",") else { return nil }
                index += 1
                skipOWS()
                if atEnd { return nil }  // a trailing comma
            }
            return members
        }

        /// §4.2.3.3: `( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`.
        mutating func key() -> String? {
            guard !atEnd, Self.isLowercaseLetter(current) || current == UInt8(ascii: "*") else { return nil }
            let start = index
            while !atEnd,
                Self.isLowercaseLetter(current) || Self.isDigit(current) || current == UInt8(ascii: "_")
                    || current == UInt8(ascii: "-") || current == UInt8(ascii: ".") || current == UInt8(ascii: "*")
            {
                index += 1
            }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }

        /// §4.2.3.2: `*( ";" *SP key [ "=" bare-item ] )`.
        mutating func parameters() -> Bool {
            while !atEnd && current == UInt8(ascii: ";") {
                index += 1
                skipSpaces()
                guard key() != nil else { return false }
                if !atEnd && current == UInt8(ascii: "=") {
                    index += 1
                    guard bareItem() != nil else { return false }
                }
            }
            return true
        }

        /// §4.2.1.2: `( *SP [ item *( 1*SP item ) *SP ] ) parameters`.
        mutating func innerList() -> Bool {
            index += 1  // "("
            while !atEnd {
                skipSpaces()
                guard !atEnd else { return false }
                if current == UInt8(ascii: ")") {
                    index += 1
                    return parameters()
                }
                guard bareItem() != nil, parameters() else { return false }
                guard !atEnd, current == 0x20 || current == UInt8(ascii: ")") else { return false }
            }
            return false
        }

        /// §4.2.3.1.
        mutating func bareItem() -> Value? {
            guard !atEnd else { return nil }
            let byte = current
            if byte == UInt8(ascii: "-") || Self.isDigit(byte) { return number() }
            if byte == UInt8(ascii: "\"") { return string() }
            if Self.isLetter(byte) || byte == UInt8(ascii: "*") { return token() }
            if byte == UInt8(ascii: ":") { return byteSequence() }
            if byte == UInt8(ascii: "?") { return boolean() }
            return nil
        }

        /// §4.2.4: an Integer (at most 15 digits) or a Decimal (at most 12 digits, `.`, 1–3 digits).
        mutating func number() -> Value? {
            var negative = false
            if current == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            guard !atEnd, Self.isDigit(current) else { return nil }
            var integer = 0
            var digits = 0
            var fraction = 0
            var fractionDigits = 0
            var decimal = false
            while !atEnd {
                let byte = current
                if Self.isDigit(byte) {
                    if decimal {
                        fraction = fraction * 10 + Int(byte - UInt8(ascii: "0"))
                        fractionDigits += 1
                        if fractionDigits > 3 { return nil }
                    } else {
                        integer = integer * 10 + Int(byte - UInt8(ascii: "0"))
                        digits += 1
                        if digits > 15 { return nil }
                    }
                } else if byte == UInt8(ascii: "."), !decimal {
                    if digits > 12 { return nil }
                    decimal = true
                } else {
                    break
                }
                index += 1
            }
            if !decimal { return .integer(negative ? -integer : integer) }
            guard fractionDigits > 0 else { return nil }
            var divisor = 1.0
            for _ in 0..<fractionDigits { divisor *= 10 }
            let value = Double(integer) + Double(fraction) / divisor
            return .decimal(negative ? -value : value)
        }

        /// §4.2.5: printable ASCII between quotes, `\` escaping only `"` and `\`.
        mutating func string() -> Value? {
            index += 1
            var text: [UInt8] = []
            while !atEnd {
                let byte = current
                index += 1
                if byte == UInt8(ascii: "\\") {
                    guard !atEnd, current == UInt8(ascii: "\"") || current == UInt8(ascii: "\\") else { return nil }
                    text.append(current)
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    return .string(String(decoding: text, as: UTF8.self))
                } else if byte < 0x20 || byte > 0x7E {
                    return nil
                } else {
                    text.append(byte)
                }
            }
            return nil  // unterminated
        }

        /// §4.2.6: `( ALPHA / "*" ) *( tchar / ":" / "/" )`.
        mutating func token() -> Value? {
            let start = index
            index += 1
            while !atEnd, StructuredDictionary.isTokenByte(current) { index += 1 }
            return .token(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
        }

        /// §4.2.7: base64 between colons (checked for its alphabet, not decoded).
        mutating func byteSequence() -> Value? {
            index += 1
            while !atEnd {
                let byte = current
                index += 1
                if byte == UInt8(ascii: ":") { return .bytes }
                guard
                    Self.isLetter(byte) || Self.isDigit(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
                        || byte == UInt8(ascii: "=")
                else { return nil }
            }
            return nil
        }

        /// §4.2.8: `?0` or `?1`.
        mutating func boolean() -> Value? {
            index += 1
            guard !atEnd else { return nil }
            let byte = current
            index += 1
            if byte == UInt8(ascii: "1") { return .boolean(true) }
            if byte == UInt8(ascii: "0") { return .boolean(false) }
            return nil
        }

        static func isLowercaseLetter(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
        static func isLetter(_ byte: UInt8) -> Bool { isLowercaseLetter(byte | 0x20) }
        static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    }
}
