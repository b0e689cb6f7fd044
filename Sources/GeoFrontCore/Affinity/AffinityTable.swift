/// A snapshot's affinity cookie, ready for requests: per region (in file order, what a
/// decision's region ordinal indexes) its name and token, and the `Set-Cookie` lines that name
/// it, plain and `Secure`. Reading a cookie compares bytes; nothing is allocated or signed.
public struct AffinityTable: Sendable {
    public let settings: AffinitySettings
    /// The cookie's name, for ``RouteRequest/cookie(_:in:)``.
    public let cookieName: [UInt8]
    /// Per region: its name's bytes.
    let names: [[UInt8]]
    /// Per region: its token (``AffinityToken``).
    let tokens: [[UInt8]]
    /// Per region: `Set-Cookie: NAME=REGION.TOKEN; Path=/; Max-Age=N; HttpOnly; SameSite=Lax` CRLF,
    /// and the same with `; Secure` for the TLS listener.
    let plainLines: [[UInt8]]
    let secureLines: [[UInt8]]

    /// What a request's cookie says.
    public enum Cookie: Sendable, Hashable {
        /// The request has no such cookie.
        case absent
        /// The cookie names this region (its index in the file) with its right token.
        case valid(region: Int)
        /// The cookie is not one GeoFront signed for a region of this configuration.
        case invalid(Problem)
    }

    public enum Problem: String, Sendable, Hashable {
        /// Not `REGION.TOKEN`.
        case malformed
        /// The region is not in the configuration.
        case unknownRegion = "unknown_region"
        /// The token is not the region's under this key.
        case badSignature = "bad_signature"
    }

    public init(settings: AffinitySettings, regionNames: [String]) {
        self.settings = settings
        cookieName = Array(settings.cookie.utf8)
        names = regionNames.map { Array($0.utf8) }
        let tokens = regionNames.map { AffinityToken.token(key: settings.key, region: $0) }
        self.tokens = tokens
        let attributes = "; Path=/; Max-Age=\(settings.maxAgeSeconds); HttpOnly; SameSite=Lax"
        let values = zip(regionNames, tokens).map { name, token in
            "\(settings.cookie)=\(name).\(String(decoding: token, as: UTF8.self))"
        }
        plainLines = values.map { Array("Set-Cookie: \($0)\(attributes)\r\n".utf8) }
        secureLines = values.map { Array("Set-Cookie: \($0)\(attributes); Secure\r\n".utf8) }
    }

    /// The cookie value for `region` (its index in the file): `REGION.TOKEN`.
    public func value(region: Int) -> String {
        String(decoding: names[region] + [UInt8(ascii: ".")] + tokens[region], as: UTF8.self)
    }

    /// The `Set-Cookie` field line (with its CRLF) that names `region` (its index in the file).
    @inline(__always)
    public func setCookieLine(region: Int, secure: Bool) -> [UInt8] {
        secure ? secureLines[region] : plainLines[region]
    }

    /// Reads the cookie of `request`: absent, valid (for which region) or why not.
    @inline(__always)
    public func check(_ request: RouteRequest, in bytes: UnsafeRawBufferPointer) -> Cookie {
        guard let value = request.cookie(cookieName, in: bytes) else { return .absent }
        return check(UnsafeRawBufferPointer(rebasing: bytes[value.start..<(value.start + value.count)]))
    }

    /// Reads a cookie value: `REGION.TOKEN`, split at the last `.`; the token is compared in
    /// constant time.
    public func check(_ value: UnsafeRawBufferPointer) -> Cookie {
        var dot = value.count - 1
        while dot >= 0 && value[dot] != UInt8(ascii: ".") { dot -= 1 }
        guard dot > 0 else { return .invalid(.malformed) }
        let name = UnsafeRawBufferPointer(rebasing: value[0..<dot])
        let token = UnsafeRawBufferPointer(rebasing: value[(dot + 1)...])
        var region = -1
        for index in names.indices where names[index].count == name.count {
            if names[index].withUnsafeBytes({ $0.elementsEqual(name) }) {
                region = index
                break
            }
        }
        guard region >= 0 else { return .invalid(.unknownRegion) }
        let expected = tokens[region]
        guard token.count == expected.count else { return .invalid(.badSignature) }
        var difference: UInt8 = 0
        for index in 0..<token.count { difference |= token[index] ^ expected[index] }
        return difference == 0 ? .valid(region: region) : .invalid(.badSignature)
    }
}
