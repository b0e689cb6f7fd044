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
        // Lower case; the port dropped when it is the scheme's default, as ``CacheKey/normalisedHost``
        // does. IPv6 literals, non-ASCII names and ports with leading zeros are left to it.
        var colon: Int?
        for index in 0..<host.count {
            let byte = host[index]
            if byte >= 0x80 || byte == UInt8(ascii: "[") { return false }
            if byte == UInt8(ascii: ":") {
                if colon != nil { return false }
                colon = index
            }
        }
        var nameEnd = host.count
        if let colon {
            let port = UnsafeRawBufferPointer(rebasing: host[(colon + 1)...])
            if port.first == UInt8(ascii: "0") { return false }
            let defaultPort: StaticString = secure ? "443" : "80"
            if port.isEmpty
                || (port.count == defaultPort.utf8CodeUnitCount
                    && port.elementsEqual(UnsafeRawBufferPointer(start: defaultPort.utf8Start, count: port.count)))
            {
                nameEnd = colon
            }
        }
        for index in 0..<nameEnd {
            let byte = host[index]
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
