import GeoIP

/// The 64-bit hashes of sticky keys: FNV-1a over the key's bytes, then a SplitMix64 finaliser so
/// every input bit reaches every output bit. Fixed functions (no per-process seed, unlike
/// `Hasher`), so every process and every reload puts a key in the same place.
public enum StickyHash {
    /// The hash of a cookie or header value.
    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        mix(fnv1a(bytes))
    }

    /// The hash of a client address (its family and 128 bits).
    public static func of(_ address: IPAddress) -> UInt64 {
        let family: UInt64 = address.family == .v4 ? 4 : 6
        return mix(mix(address.high ^ family) ^ address.low)
    }

    /// The key's place in [0, 1), for display (`geofront route`, admin `/routes`).
    public static func point(_ hash: UInt64) -> Double {
        Double(hash >> 11) * 0x1p-53
    }

    /// A hash mapped into (0, 1): never 0 or 1, so its logarithm is finite and negative.
    @inline(__always)
    static func unitInterval(_ hash: UInt64) -> Double {
        (Double(hash >> 11) + 0.5) * 0x1p-53
    }

    @inline(__always)
    static func fnv1a<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// SplitMix64's finaliser (Stafford's mix 13).
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
