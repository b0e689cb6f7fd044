/// An address block in CIDR form, e.g. `10.0.0.0/8` or `2001:db8::/32`.
public struct IPNetwork: Hashable, Sendable {
    /// The first address of the block (host bits cleared).
    public let address: IPAddress
    public let prefixLength: Int

    /// Builds the network containing `address` with the given prefix; host bits are cleared.
    public init?(address: IPAddress, prefixLength: Int) {
        guard prefixLength >= 0, prefixLength <= address.bitWidth else { return nil }
        self.prefixLength = prefixLength
        let (maskHigh, maskLow) = IPNetwork.mask(prefixLength: prefixLength, family: address.family)
        switch address.family {
        case .v4:
            self.address = IPAddress(v4: UInt32(truncatingIfNeeded: address.low & maskLow))
        case .v6:
            self.address = IPAddress(v6: address.high & maskHigh, address.low & maskLow)
        }
    }

    /// Parses `address/prefix`; a bare address means a single-host network.
    /// Rejects host bits set beyond the prefix, so that `10.0.0.1/8` (a likely typo) is an error.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        var prefix = address.bitWidth
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy(\.isASCII),
                digits.allSatisfy(\.isNumber), let value = Int(digits)
            else { return nil }
            prefix = value
        }
        guard let network = IPNetwork(address: address, prefixLength: prefix), network.address == address else {
            return nil
        }
        self = network
    }

    /// Whether `candidate` lies in this block. IPv4-mapped IPv6 addresses match IPv4 blocks.
    @inline(__always)
    public func contains(_ candidate: IPAddress) -> Bool {
        let candidate = address.family == .v4 ? candidate.unmapped : candidate
        guard candidate.family == address.family else { return false }
        let (maskHigh, maskLow) = IPNetwork.mask(prefixLength: prefixLength, family: address.family)
        return candidate.high & maskHigh == address.high && candidate.low & maskLow == address.low
    }

    @inline(__always)
    public static func mask(prefixLength: Int, family: IPAddress.Family) -> (UInt64, UInt64) {
        switch family {
        case .v4:
            let bits = prefixLength == 0 ? 0 : UInt64(UInt32.max << UInt32(32 - prefixLength))
            return (0, bits)
        case .v6:
            let high: UInt64 =
                prefixLength >= 64 ? .max : (prefixLength == 0 ? 0 : UInt64.max << UInt64(64 - prefixLength))
            let low: UInt64 =
                prefixLength <= 64 ? 0 : (prefixLength == 128 ? .max : UInt64.max << UInt64(128 - prefixLength))
            return (high, low)
        }
    }
}

extension IPNetwork: CustomStringConvertible {
    public var description: String { "\(address)/\(prefixLength)" }
}
