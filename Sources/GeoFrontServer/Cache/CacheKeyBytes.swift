import GeoFrontCore

/// A request's primary cache key written as bytes straight from its head — the same bytes
/// ``CacheKey`` makes from strings (`url` NUL `region` NUL, no secondary key) — for the hit
/// path, which then looks the store up by them without making a string. Requests it does not
/// cover (a host with a port to normalise or non-ASCII bytes, a `key.query` allow-list) are left
/// to ``CacheKey``: ``write(into:secure:host:path:query:policy:region:)`` returns false.
enum CacheKeyBytes {
    static func write(
        into key: inout [UInt8], secure: Bool, host: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer,
        query: UnsafeRawBufferPointer?, policy: CacheQueryPolicy, region: [UInt8]?
    ) -> Bool {
        key.removeAll(keepingCapacity: true)
        if secure {
            key.append(contentsOf: "https://".utf8)
        } else {
            key.append(contentsOf: "http://".utf8)
        }
        for byte in host {
            if byte >= 0x80 || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "[") { return false }
            key.append(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte)
        }
        if path.isEmpty {
            key.append(UInt8(ascii: "/"))
        } else {
            key.append(contentsOf: path)
        }
        switch policy {
        case .all:
            if let query, !query.isEmpty {
                key.append(UInt8(ascii: "?"))
                key.append(contentsOf: query)
            }
        case .none:
            break
        case .allow:
            return false
        }
        key.append(0)
        if let region { key.append(contentsOf: region) }
        key.append(0)
        return true
    }
}
