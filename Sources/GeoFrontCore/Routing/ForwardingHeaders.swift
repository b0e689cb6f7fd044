import GeoIP

/// Byte-level parsing of `X-Forwarded-For` and RFC 7239 `Forwarded` values, without allocation.
enum ForwardingHeaders {
    enum Element {
        /// An empty list element (`a,,b`): skipped, as RFC 9110 list syntax allows.
        case empty
        case malformed
        case address(IPAddress)
    }

    /// Calls `body` with each comma-separated element, last first, until it returns false.
    /// Commas inside double quotes (Forwarded quoted-strings) do not split.
    static func forEachElementReversed(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Bool) {
        var end = bytes.count
        var index = bytes.count
        var inQuotes = false
        while index > 0 {
            index -= 1
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") && !(index > 0 && bytes[index - 1] == UInt8(ascii: "\\")) {
                inQuotes.toggle()
            } else if byte == UInt8(ascii: ",") && !inQuotes {
                if !body(UnsafeRawBufferPointer(rebasing: bytes[(index + 1)..<end])) { return }
                end = index
            }
        }
        _ = body(UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
    }

    /// One `X-Forwarded-For` element: an address, optionally `[v6]:port` or `v4:port`.
    static func xForwardedForAddress(_ bytes: UnsafeRawBufferPointer) -> Element {
        let node = FieldLines.trimmingOWS(bytes)
        if node.isEmpty { return .empty }
        return nodeAddress(node)
    }

    /// The `for=` parameter of one `Forwarded` element. `for=unknown` and obfuscated identifiers
    /// (`for=_hidden`) carry no address and count as malformed.
    static func forwardedForAddress(_ bytes: UnsafeRawBufferPointer) -> Element {
        let element = FieldLines.trimmingOWS(bytes)
        if element.isEmpty { return .empty }
        var start = 0
        while start <= element.count {
            var end = start
            var inQuotes = false
            while end < element.count {
                let byte = element[end]
                if byte == UInt8(ascii: "\"") { inQuotes.toggle() }
                if byte == UInt8(ascii: ";") && !inQuotes { break }
                end += 1
            }
            let pair = FieldLines.trimmingOWS(UnsafeRawBufferPointer(rebasing: element[start..<end]))
            if pair.count > 4, lower(pair[0]) == UInt8(ascii: "f"), lower(pair[1]) == UInt8(ascii: "o"),
                lower(pair[2]) == UInt8(ascii: "r"), pair[3] == UInt8(ascii: "=")
            {
                var value = UnsafeRawBufferPointer(rebasing: pair[4...])
                if value.count >= 2 && value[0] == UInt8(ascii: "\"") && value[value.count - 1] == UInt8(ascii: "\"") {
                    value = UnsafeRawBufferPointer(rebasing: value[1..<(value.count - 1)])
                }
                return nodeAddress(value)
            }
            start = end + 1
        }
        return .malformed
    }

    /// `address`, `[v6]`, `[v6]:port` or `v4:port`.
    static func nodeAddress(_ node: UnsafeRawBufferPointer) -> Element {
        if node.isEmpty { return .malformed }
        if node[0] == UInt8(ascii: "[") {
            guard let close = node.firstIndex(of: UInt8(ascii: "]")) else { return .malformed }
            let rest = UnsafeRawBufferPointer(rebasing: node[(close + 1)...])
            if !rest.isEmpty && !isPort(rest) { return .malformed }
            guard let address = IPAddress(utf8: UnsafeRawBufferPointer(rebasing: node[1..<close])),
                address.family == .v6
            else { return .malformed }
            return .address(address)
        }
        var colons = 0
        var lastColon = 0
        for (index, byte) in node.enumerated() where byte == UInt8(ascii: ":") {
            colons += 1
            lastColon = index
        }
        if colons == 1 {
            // IPv4 with a port.
            guard isPort(UnsafeRawBufferPointer(rebasing: node[lastColon...])),
                let address = IPAddress(utf8: UnsafeRawBufferPointer(rebasing: node[..<lastColon])),
                address.family == .v4
            else { return .malformed }
            return .address(address)
        }
        guard let address = IPAddress(utf8: node) else { return .malformed }
        return .address(address)
    }

    /// `:digits`, 1 to 5 digits.
    private static func isPort(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 2, bytes.count <= 6, bytes[0] == UInt8(ascii: ":") else { return false }
        return bytes.dropFirst().allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    @inline(__always)
    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }
}
