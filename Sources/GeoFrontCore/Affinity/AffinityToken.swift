import COpenSSLCrypto

/// The signature in an affinity cookie: base64url (no padding) of
/// HMAC-SHA256(key, `geofront-affinity:` + region name), its first 22 characters (132 bits).
/// Computed once per region when a snapshot is built; requests only compare.
public enum AffinityToken {
    /// The characters kept.
    public static let length = 22
    static let context = Array("geofront-affinity:".utf8)

    /// The token of `region` under `key`.
    public static func token(key: [UInt8], region: String) -> [UInt8] {
        let message = context + Array(region.utf8)
        var digest = [UInt8](repeating: 0, count: 32)
        var digestLength: UInt32 = 0
        let done = key.withUnsafeBufferPointer { key in
            message.withUnsafeBufferPointer { message in
                digest.withUnsafeMutableBufferPointer { digest in
                    HMAC(
                        EVP_sha256(), key.baseAddress, Int32(key.count), message.baseAddress, message.count,
                        digest.baseAddress, &digestLength)
                }
            }
        }
        precondition(done != nil && digestLength == 32, "HMAC-SHA256 failed")
        return Array(base64URL(digest).prefix(length))
    }

    /// base64url without padding.
    static func base64URL(_ bytes: [UInt8]) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            var group = UInt32(bytes[index]) << 16
            if count > 1 { group |= UInt32(bytes[index + 1]) << 8 }
            if count > 2 { group |= UInt32(bytes[index + 2]) }
            for position in 0...count {
                out.append(alphabet[Int((group >> UInt32(18 - 6 * position)) & 0x3f)])
            }
            index += 3
        }
        return out
    }
}
