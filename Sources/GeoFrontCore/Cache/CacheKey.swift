/// How a cache key treats the request's query string (`key.query`).
public enum CacheQueryPolicy: Sendable, Hashable {
    /// The query exactly as sent.
    case all
    /// The query is dropped.
    case none
    /// Only the named parameters are kept, sorted by name (then by their full text), so the order the
    /// client sent them in does not matter.
    case allow([String])
}

/// The key of one cached response: the primary key (scheme, normalised host, path, query after the
/// policy, optional region) and the secondary key (the request's values for the stored response's `Vary`
/// field names). The method is not part of the key: only GET (and HEAD answered from GET) is cached.
///
/// The key is its exact bytes (`url`, NUL, region, NUL, secondary) with a 64-bit hash of them
/// (Swift's `Hasher`: SipHash with a per-process random seed, so URLs cannot be chosen to collide,
/// as they could under an unkeyed hash such as FNV-1a); equality compares the hash and then the
/// bytes. One allocation (the bytes): the URL is made from
/// them only when asked for (purges, tools), never on the request path.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    /// The key's bytes: `url` NUL `region` NUL `secondary`.
    public let bytes: [UInt8]
    /// The keyed hash of `bytes` (``hash(_:)``).
    public let hash: UInt64
    private let urlLength: Int
    private let primaryLength: Int

    /// The normalised URL (`scheme://host[:port]path[?query]`), the purge-by-URL and prefix unit.
    public var url: String { String(decoding: bytes[..<urlLength], as: UTF8.self) }

    /// Whether the URL starts with `prefix` (a purge by prefix), without making the URL.
    public func urlHasPrefix(_ prefix: [UInt8]) -> Bool {
        prefix.count <= urlLength && bytes[..<prefix.count].elementsEqual(prefix)
    }

    /// A key for a request. `varyNames` are the stored response's `Vary` field names (empty when the
    /// response has no `Vary`); `requestHeaders` are the request's header field lines.
    public init(
        scheme: String, host: String, path: String, query: String?, policy: CacheQueryPolicy,
        region: String? = nil, varyNames: [String] = [], requestHeaders: [(name: String, value: String)] = []
    ) {
        let url = Self.normalisedURL(scheme: scheme, host: host, path: path, query: query, policy: policy)
        self.init(
            url: url, region: region, secondary: Self.secondaryKey(varyNames: varyNames, requestHeaders: requestHeaders)
        )
    }

    /// A key from an already normalised URL and secondary key.
    public init(url: String, region: String? = nil, secondary: String = "") {
        var bytes = Array(url.utf8)
        bytes.append(0)
        if let region { bytes.append(contentsOf: region.utf8) }
        primaryLength = bytes.count
        bytes.append(0)
        bytes.append(contentsOf: secondary.utf8)
        self.bytes = bytes
        self.urlLength = url.utf8.count
        self.hash = bytes.withUnsafeBytes { Self.hash($0) }
    }

    /// The key of a `Vary` variant: this key's URL and region (its own secondary key replaced) with
    /// `secondary`.
    public func variant(_ secondary: String) -> CacheKey {
        var bytes = Array(self.bytes[...primaryLength])
        bytes.append(contentsOf: secondary.utf8)
        return CacheKey(bytes: bytes, urlLength: urlLength, primaryLength: primaryLength)
    }

    /// A key from its bytes (`url` NUL `region` NUL `secondary`), as ``bytes`` has them; `hash`
    /// when it was computed already (``hash(_:)`` of the same bytes).
    public init(keyBytes bytes: [UInt8], hash: UInt64? = nil) {
        let urlEnd = bytes.firstIndex(of: 0) ?? bytes.count
        let regionEnd = bytes[min(urlEnd + 1, bytes.count)...].firstIndex(of: 0) ?? bytes.count
        self.init(bytes: bytes, urlLength: urlEnd, primaryLength: regionEnd, hash: hash)
    }

    private init(bytes: [UInt8], urlLength: Int, primaryLength: Int, hash: UInt64? = nil) {
        self.bytes = bytes
        self.urlLength = urlLength
        self.primaryLength = primaryLength
        self.hash = hash ?? bytes.withUnsafeBytes { Self.hash($0) }
    }

    /// No region and no secondary key: the URL alone.
    public var isPlain: Bool { bytes.count == primaryLength + 1 && primaryLength == urlLength + 1 }

    /// The keyed 64-bit hash of `bytes`, as ``hash`` is computed (for keys written straight into a
    /// buffer): SipHash-1-3 by Swift's `Hasher`, seeded at random per process.
    @inline(__always)
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(bytes: bytes)
        return UInt64(truncatingIfNeeded: hasher.finalize())
    }

    /// The primary key's bytes (URL and region, without the secondary key).
    public var primary: ArraySlice<UInt8> { bytes[..<primaryLength] }

    /// The secondary key's text (empty without `Vary`).
    public var secondary: String { String(decoding: bytes[(primaryLength + 1)...], as: UTF8.self) }

    public var description: String { String(decoding: bytes.map { $0 == 0 ? UInt8(ascii: "|") : $0 }, as: UTF8.self) }

    public static func == (lhs: CacheKey, rhs: CacheKey) -> Bool { lhs.hash == rhs.hash && lhs.bytes == rhs.bytes }

    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    // MARK: Normalisation

    /// `scheme://host[:port]path[?query]`: scheme and host lower-cased, the scheme's default port dropped,
    /// an empty path as `/`, the query after the policy (no `?` when nothing is left).
    public static func normalisedURL(
        scheme: String, host: String, path: String, query: String?, policy: CacheQueryPolicy
    ) -> String {
        let scheme = scheme.lowercased()
        var url = scheme + "://" + normalisedHost(host, scheme: scheme)
        url += path.isEmpty ? "/" : path
        if let query = normalisedQuery(query, policy: policy), !query.isEmpty { url += "?" + query }
        return url
    }

    /// The host lower-cased, with the port dropped when it is the scheme's default (80 for http, 443
    /// for https) or empty. IPv6 literals keep their brackets.
    public static func normalisedHost(_ host: String, scheme: String) -> String {
        let host = host.lowercased()
        let defaultPort: Substring? =
            switch scheme.lowercased() {
            case "http": "80"
            case "https": "443"
            default: nil
            }
        // The port separator: the last ':' after a closing bracket for IPv6, else the only ':'.
        let searchStart = host.lastIndex(of: "]").map { host.index(after: $0) } ?? host.startIndex
        guard let colon = host[searchStart...].lastIndex(of: ":") else { return host }
        let name = host[..<colon]
        var port = host[host.index(after: colon)...]
        while port.count > 1, port.first == "0" { port = port.dropFirst() }  // "0080" is port 80
        if port.isEmpty || port == defaultPort { return String(name) }
        return name + ":" + port
    }

    /// The query after the policy: as sent, dropped (nil), or only the allowed parameters sorted by name.
    public static func normalisedQuery(_ query: String?, policy: CacheQueryPolicy) -> String? {
        guard let query else { return nil }
        switch policy {
        case .all: return query
        case .none: return nil
        case .allow(let names):
            let allowed = Set(names)
            var kept: [(name: Substring, text: Substring)] = []
            for parameter in query.split(separator: "&") {
                let name = parameter.prefix { $0 != "=" }
                if allowed.contains(String(name)) { kept.append((name, parameter)) }
            }
            kept.sort { $0.name != $1.name ? $0.name < $1.name : $0.text < $1.text }
            return kept.map { String($0.text) }.joined(separator: "&")
        }
    }

    /// The secondary key: for each `Vary` field name (lower-cased, de-duplicated, sorted), the name, `=`,
    /// and the request's values for it (every line of that field, trimmed, joined with `,`), one per line.
    /// A response with `Vary: *` never matches a later request (RFC 9111 §4.1): the caller must not store
    /// it, since here `*` would become an ordinary name.
    public static func secondaryKey(varyNames: [String], requestHeaders: [(name: String, value: String)]) -> String {
        let names = Set(
            varyNames.flatMap { $0.split(separator: ",") }.map { $0.trimmingASCIISpaces().lowercased() }
                .filter { !$0.isEmpty })
        guard !names.isEmpty else { return "" }
        var lines: [String] = []
        for name in names.sorted() {
            let values = requestHeaders.filter { $0.name.lowercased() == name }
                .flatMap { $0.value.split(separator: ",", omittingEmptySubsequences: false) }
                .map { $0.trimmingASCIISpaces() }
            lines.append(name + "=" + values.joined(separator: ","))
        }
        return lines.joined(separator: "\n")
    }
}

extension StringProtocol {
    fileprivate func trimmingASCIISpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
