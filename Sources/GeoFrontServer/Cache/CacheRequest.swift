import GeoFrontCore

/// What the cache reads from a request head: its method's kind, its key's URL, and the few fields
/// the rules need, found in one pass over the field lines. Text is made only for the fields a
/// request has (a plain GET makes the URL and nothing else).
struct CacheRequest {
    enum Method {
        case get
        case head
        /// Safe but never cached (OPTIONS, TRACE): passed through.
        case safe
        /// Anything else: passed through, and a non-error answer invalidates (RFC 9111 §4.4).
        case unsafe
    }

    var method: Method
    /// The target URI's parts as sent (`host` with its port), for invalidation: made for unsafe
    /// methods only (empty otherwise; ``normalisedURL`` makes the key's URL).
    var scheme: String
    var host = ""
    var path = ""
    var query: String?
    var queryPolicy: CacheQueryPolicy
    /// The request's `Cache-Control` (with `Pragma: no-cache` as `no-cache` when it has none).
    var cacheControl = CacheControl()
    var ifNoneMatch: String?
    var ifModifiedSince: String?
    var range: String?
    var ifRange: String?
    var hasAuthorization = false
    var hasBody: Bool

    init(
        _ bytes: UnsafeRawBufferPointer, head: RequestHead, route: RouteRequest, secure: Bool, query: CacheQueryPolicy
    ) {
        let method = head.method.bytes(in: bytes)
        if RequestMethod.isHEAD(method) {
            self.method = .head
        } else if method.count == 3 && method[0] == UInt8(ascii: "G") && method[1] == UInt8(ascii: "E")
            && method[2] == UInt8(ascii: "T")
        {
            self.method = .get
        } else if Self.equals(method, "OPTIONS") || Self.equals(method, "TRACE") {
            self.method = .safe
        } else {
            self.method = .unsafe
        }
        hasBody = head.body != .none
        scheme = secure ? "https" : "http"
        queryPolicy = query
        if self.method == .unsafe { setTarget(bytes, route: route) }
        var hasCacheControl = false
        var pragmaNoCache = false
        RouteRequest.forEachField(in: bytes, fields: route.fields) { name, value in
            switch name.count {
            case 5 where FieldLines.equals(bytes, name, "range"):
                range = Self.text(bytes, value)
            case 6 where FieldLines.equals(bytes, name, "pragma"):
                pragmaNoCache = pragmaNoCache || Self.text(bytes, value).lowercased().contains("no-cache")
            case 8 where FieldLines.equals(bytes, name, "if-range"):
                ifRange = Self.text(bytes, value)
            case 13 where FieldLines.equals(bytes, name, "cache-control"):
                self.cacheControl.parse(value.bytes(in: bytes))  // each line adds to the last
                hasCacheControl = true
            case 13 where FieldLines.equals(bytes, name, "if-none-match"):
                ifNoneMatch = ifNoneMatch.map { $0 + ", " + Self.text(bytes, value) } ?? Self.text(bytes, value)
            case 13 where FieldLines.equals(bytes, name, "authorization"):
                hasAuthorization = true
            case 17 where FieldLines.equals(bytes, name, "if-modified-since"):
                ifModifiedSince = Self.text(bytes, value)
            default:
                break
            }
            return true
        }
        if !hasCacheControl && pragmaNoCache {
            self.cacheControl.noCache = true  // RFC 9111 §5.4
        }
    }

    /// A GET or HEAD without a body whose fields include none of those read here (`Cache-Control`,
    /// `Pragma`, conditions, `Range`, `Authorization`), as the hit path's scan found: no scan.
    /// Nil for any other method.
    init?(plain bytes: UnsafeRawBufferPointer, head: RequestHead, secure: Bool, query: CacheQueryPolicy) {
        let name = head.method.bytes(in: bytes)
        if RequestMethod.isHEAD(name) {
            method = .head
        } else if Self.equals(name, "GET") {
            method = .get
        } else {
            return nil
        }
        hasBody = false
        scheme = secure ? "https" : "http"
        queryPolicy = query
    }

    /// Fills ``host``, ``path`` and ``query`` from the request.
    mutating func setTarget(_ bytes: UnsafeRawBufferPointer, route: RouteRequest) {
        host = Self.hostValue(bytes, route: route)
        path = String(decoding: route.path.bytes(in: bytes), as: UTF8.self)
        query = route.query.map { String(decoding: $0.bytes(in: bytes), as: UTF8.self) }
    }

    /// The key's URL (`scheme://host[:port]path[?query]`, the query after `key.query`), made from
    /// the request when its key bytes could not be written directly (``CacheKeyBytes``).
    static func normalisedURL(
        _ bytes: UnsafeRawBufferPointer, route: RouteRequest, secure: Bool, policy: CacheQueryPolicy
    ) -> String {
        CacheKey.normalisedURL(
            scheme: secure ? "https" : "http", host: hostValue(bytes, route: route),
            path: String(decoding: route.path.bytes(in: bytes), as: UTF8.self),
            query: route.query.map { String(decoding: $0.bytes(in: bytes), as: UTF8.self) }, policy: policy)
    }

    /// The secondary key of this request under `varyNames` (RFC 9111 §4.1).
    static func secondaryKey(_ bytes: UnsafeRawBufferPointer, route: RouteRequest, varyNames: [String]) -> String {
        secondaryKey(bytes, fields: route.fields, varyNames: varyNames)
    }

    /// The secondary key from the field lines at `fields` of `bytes`.
    static func secondaryKey(_ bytes: UnsafeRawBufferPointer, fields: RequestHead.Span, varyNames: [String]) -> String {
        guard !varyNames.isEmpty else { return "" }
        var lines: [(name: String, value: String)] = []
        RouteRequest.forEachField(in: bytes, fields: fields) { name, value in
            let text = String(decoding: name.bytes(in: bytes), as: UTF8.self).lowercased()
            if varyNames.contains(text) { lines.append((text, Self.text(bytes, value))) }
            return true
        }
        return CacheKey.secondaryKey(varyNames: varyNames, requestHeaders: lines)
    }

    /// The `Host` the client asked for, port included (the authority of an absolute-form target).
    private static func hostValue(_ bytes: UnsafeRawBufferPointer, route: RouteRequest) -> String {
        if let field = route.header(Array("host".utf8), in: bytes) { return text(bytes, field) }
        if let host = route.host { return text(bytes, host) }
        return ""
    }

    static func text(_ bytes: UnsafeRawBufferPointer, _ span: RequestHead.Span) -> String {
        String(decoding: span.bytes(in: bytes), as: UTF8.self)
    }

    private static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let pointer = literal.utf8Start
        for index in 0..<bytes.count where bytes[index] != pointer[index] { return false }
        return true
    }
}
