import GeoFrontCore
import NIOCore

/// The cache's part in a request that goes upstream: why it went (``status``), what to do with
/// the answer (store it, revalidate a stored one with it, fall back on a stale one, invalidate),
/// and the fill that followers wait on when this request leads one.
/// A reference: the lookup, the driver and a follower share one per request, never copied.
final class CacheForward {
    let cache: ResponseCache
    /// The cache settings that apply to this request (its route's or service's, else `cache`).
    let settings: CacheSettings
    var request: CacheRequest
    /// The request's key without `Vary` (URL and region).
    let primary: CacheKey
    /// The stored response this request found: revalidated with its validators, served when the
    /// upstream fails and `stale-if-error` allows it.
    var stored: (entry: StoredResponse, key: CacheKey)?
    /// Send the stored response's validators (`If-None-Match`, `If-Modified-Since`).
    var conditional = false
    /// `Cache-Status` so far: the forward reason.
    var status: CacheStatus
    /// The fill this request leads (collapsed followers wait on it).
    var fill: CacheFill?
    /// The request's field lines (bytes, each with its CRLF) when a response may be stored: its
    /// `Vary` key is made from them once a response says which fields it varies by.
    var requestFields: [UInt8] = []
    /// When the request went upstream (seconds, the cache's clock): `request_time` of §4.2.3.
    var requestTime: Int
    /// The cache's own refresh of a stale response (`stale-while-revalidate`), after the client
    /// was answered: not counted or logged as a request.
    var background = false
    /// The answer may be stored (false for a request with `no-store`, a HEAD, a conditional or
    /// ranged miss, other methods).
    var mayStore: Bool

    init(
        cache: ResponseCache, settings: CacheSettings, request: CacheRequest, primary: CacheKey, status: CacheStatus,
        requestTime: Int, mayStore: Bool
    ) {
        self.cache = cache
        self.settings = settings
        self.request = request
        self.primary = primary
        self.status = status
        self.requestTime = requestTime
        self.mayStore = mayStore
    }

    /// The request as the storing rules see it (`Cache-Control`, `Authorization`), its fields read in
    /// place: a computed property of ``request`` would copy the whole request, each string retained.
    var rulesHeaders: CacheHeaders {
        var headers = CacheHeaders()
        headers.cacheControl = request.cacheControl
        headers.hasAuthorization = request.hasAuthorization
        return headers
    }

    /// Whether the request is conditional or partial: such a miss is passed on as it is (its 304 or
    /// 206 is not stored) and not collapsed into another request. Read in place (see ``rulesHeaders``).
    var isConditionalOrPartial: Bool {
        request.ifNoneMatch != nil || request.ifModifiedSince != nil || request.range != nil
    }

    /// The request's secondary key for a response that varies by `names` (RFC 9111 §4.1).
    func secondaryKey(varyNames names: [String]) -> String {
        guard !names.isEmpty else { return "" }
        return requestFields.withUnsafeBytes { bytes in
            CacheRequest.secondaryKey(
                bytes, fields: RequestHead.Span(start: 0, count: bytes.count), varyNames: names)
        }
    }
}
