/// May a shared cache store this response to this request? RFC 9111 §3, with §3.5
/// (`Authorization`), §4.1 (`Vary: *` never matches, so storing it is pointless) and the
/// issue's rule that a response setting a cookie is stored only when marked `public`.
///
/// Choices:
/// - Only GET responses are stored. A HEAD request may later be answered from a stored GET
///   response (RFC 9110 §9.3.2), but a HEAD response has no body to store.
/// - 206 (partial content) is not understood (ranges are not stored) and 304 only updates a
///   stored response (§4.3.4); neither is stored. 1xx is not final.
/// - `must-understand` (§5.2.2.3): the response is stored only when its status is understood
///   (``understoodStatuses``), and then the response's `no-store` is ignored.
/// - A qualified `private="f"` does not stop storage; the caller must drop the listed fields
///   (``CacheControl/privateFields``) before storing.
/// - §3 lets a heuristically cacheable status (or `public`) alone make a response storable; this
///   cache additionally asks for a validator (`ETag` or `Last-Modified`) in that case, since
///   without explicit freshness a stored response it could not revalidate would never be reused.
public enum CacheStorability {
    public enum Verdict: Sendable, Equatable {
        case storable
        case notStorable(Reason)
    }

    /// Why a response is not stored (for `Cache-Status` `detail=` and logs).
    public enum Reason: String, Sendable, Equatable {
        case method = "method"
        case statusNotFinal = "status-not-final"
        case statusNotUnderstood = "status-not-understood"
        case requestNoStore = "request-no-store"
        case responseNoStore = "response-no-store"
        case responsePrivate = "private"
        case authorization = "authorization"
        case varyStar = "vary-star"
        case setCookie = "set-cookie"
        case noFreshnessOrValidator = "no-freshness-or-validator"
    }

    /// Statuses cacheable by default (RFC 9110 §15.1, RFC 9111 §4.2.2).
    public static let heuristicallyCacheableStatuses: Set<Int> = [
        200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501,
    ]

    /// Statuses whose caching requirements this cache implements (for `must-understand`).
    public static let understoodStatuses: Set<Int> = [
        200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501,
    ]

    public static func verdict(
        method: String, request: CacheHeaders, status: Int, response: CacheHeaders
    ) -> Verdict {
        let requestCC = request.cacheControl
        let responseCC = response.cacheControl
        guard method == "GET" else { return .notStorable(.method) }
        guard status >= 200 else { return .notStorable(.statusNotFinal) }
        if status == 206 || status == 304 { return .notStorable(.statusNotUnderstood) }
        let understood = understoodStatuses.contains(status)
        if responseCC.mustUnderstand && !understood { return .notStorable(.statusNotUnderstood) }
        if requestCC.noStore { return .notStorable(.requestNoStore) }
        if responseCC.noStore && !(responseCC.mustUnderstand && understood) {
            return .notStorable(.responseNoStore)
        }
        if responseCC.isPrivate { return .notStorable(.responsePrivate) }
        if request.hasAuthorization && !(responseCC.isPublic || responseCC.mustRevalidate || responseCC.sMaxAge != nil)
        {
            return .notStorable(.authorization)
        }
        if response.varyStar { return .notStorable(.varyStar) }
        if response.hasSetCookie && !responseCC.isPublic { return .notStorable(.setCookie) }
        let explicit = responseCC.maxAge != nil || responseCC.sMaxAge != nil || response.expires != .absent
        if explicit { return .storable }
        let hasValidator = response.hasETag || response.lastModified != nil
        if hasValidator && (responseCC.isPublic || heuristicallyCacheableStatuses.contains(status)) {
            return .storable
        }
        return .notStorable(.noFreshnessOrValidator)
    }
}
