/// The `Cache-Status` field value of an answer (RFC 9211): `GeoFront; hit`,
/// `GeoFront; fwd=uri-miss; stored`, `GeoFront; fwd=stale; fwd-status=304; ttl=59`, …
/// Built per answer on the cached path; a plain value.
public struct CacheStatus: Sendable, Hashable {
    /// Why the request went forward (RFC 9211 §2.2).
    public enum Forward: String, Sendable, Hashable {
        /// The cache was not used for this request.
        case bypass
        /// The method is not cacheable.
        case method
        /// No stored response for the URI.
        case uriMiss = "uri-miss"
        /// A stored response for the URI, but none whose `Vary` fields match.
        case varyMiss = "vary-miss"
        /// The request asked to bypass the stored response (`no-cache`, `max-age=0`, …).
        case request
        /// The stored response was stale and is being revalidated.
        case stale
        /// A partial response was stored and the rest is asked for.
        case partial
    }

    /// The cache's name in the field (`GeoFront`).
    public static let name = "GeoFront"

    /// Answered from the cache (`hit`).
    public var hit = false
    /// Why the request went forward; nil on a hit.
    public var forward: Forward?
    /// The status the next hop answered with (`fwd-status`), when it went forward.
    public var forwardStatus: Int?
    /// Seconds of freshness left (`ttl`; negative when stale).
    public var ttl: Int?
    /// The response was stored (`stored`).
    public var stored = false
    /// The forwarded request was collapsed into another one for the same key (`collapsed`).
    public var collapsed = false
    /// Why the response was not stored, when it was not (`detail`, e.g. `private`).
    public var detail: String?

    public init(
        hit: Bool = false, forward: Forward? = nil, forwardStatus: Int? = nil, ttl: Int? = nil, stored: Bool = false,
        collapsed: Bool = false, detail: String? = nil
    ) {
        self.hit = hit
        self.forward = forward
        self.forwardStatus = forwardStatus
        self.ttl = ttl
        self.stored = stored
        self.collapsed = collapsed
        self.detail = detail
    }

    /// The field value: the cache's name, then the parameters in RFC 9211's order (§2).
    public var fieldValue: String {
        var value = Self.name
        if hit { value += "; hit" }
        if let forward { value += "; fwd=" + forward.rawValue }
        if let forwardStatus { value += "; fwd-status=\(forwardStatus)" }
        if let ttl { value += "; ttl=\(ttl)" }
        if stored { value += "; stored" }
        if collapsed { value += "; collapsed" }
        if let detail, detail.utf8.allSatisfy(Self.isTokenByte), !detail.isEmpty { value += "; detail=" + detail }
        return value
    }

    /// A structured-field token's characters (RFC 8941 §3.3.4), for `detail`
    /// (``StructuredDictionary/isTokenByte(_:)``).
    @inlinable
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        StructuredDictionary.isTokenByte(byte)
    }
}
