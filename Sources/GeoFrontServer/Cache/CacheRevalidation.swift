import GeoFrontCore
import NIOCore

/// The cache's edits around an upstream exchange: the validators a revalidation sends (RFC 9111
/// §4.3.1), the stored response a 304 updates (§4.3.4, §3.2), and the URLs an unsafe request's
/// answer invalidates (§4.4).
enum CacheRevalidation {
    /// Request fields a conditional request of the cache's replaces (the client's own conditions
    /// and range are about the client's copy, not the cache's).
    static let replacedFields = [
        "if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range", "range",
    ]

    /// The request edits of the upstream request: the route's, plus, when the cache revalidates a
    /// stored response, its validators.
    static func edits(route: HeaderEditBytes?, cache: CacheForward?) -> HeaderEditBytes? {
        guard let cache, cache.conditional, let stored = cache.stored?.entry else { return route }
        var edits = HeaderEdits()
        edits.remove = replacedFields
        if let etag = stored.head.etag { edits.add.append(NameValue("If-None-Match", etag)) }
        if let lastModified = stored.head.lastModified {
            edits.add.append(NameValue("If-Modified-Since", lastModified))
        }
        let own = HeaderEditBytes(edits)
        guard let route else { return own }
        return route.merged(with: own)
    }

    /// `stored` updated with a 304's fields (§3.2: each field the 304 has replaces the stored ones
    /// of that name, except the framing and `Content-Length`); its age starts again from the 304.
    static func updated(
        _ stored: StoredResponse, with fields: [(name: String, value: String)], requestTime: Int, now: Int,
        allocator: ByteBufferAllocator
    ) -> StoredResponse {
        let merged = StoredHeaderUpdate.updated(stored: stored.head.fields.map { ($0.name, $0.value) }, with: fields)
        let head = StoredHead(
            updating: stored.head, fields: merged.map { CacheHeaderField(name: $0.name, value: $0.value) },
            allocator: allocator)
        let headers = CacheHeaders(fields)
        let age = Freshness.AgeInputs(
            ageValue: headers.age ?? 0, dateValue: headers.date ?? head.headers.date ?? now, requestTime: requestTime,
            responseTime: now)
        return StoredResponse(
            head: head, body: stored.body,
            lifetime: Freshness.lifetime(response: head.headers, status: head.status, responseTime: now).seconds,
            age: age, secondaryKey: stored.secondaryKey)
    }

    /// The normalised URLs an unsafe request's non-error answer invalidates: its own, and its
    /// `Location` and `Content-Location` when they are on the same origin (§4.4).
    static func invalidated(_ request: CacheRequest, location: String?, contentLocation: String?) -> [String] {
        CacheInvalidation.urls(
            scheme: request.scheme, host: request.host, path: request.path, query: request.query,
            location: location, contentLocation: contentLocation, policy: request.queryPolicy)
    }
}
