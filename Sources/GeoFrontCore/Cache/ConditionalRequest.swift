/// A client's own conditional GET or HEAD answered from a stored response (RFC 9110 §13.1.2,
/// §13.1.3, §13.2.2; RFC 9111 §4.3.2): whether the answer is `304 Not Modified`, and which stored
/// fields the 304 carries (RFC 9110 §15.4.5).
public enum ConditionalRequest {
    /// True when the request's preconditions make the cache answer 304 instead of the stored response.
    ///
    /// - `ifNoneMatch`: the request's `If-None-Match` (several lines joined with `,`); when present,
    ///   `If-Modified-Since` is ignored (§13.1.3). `*` matches the stored response (§13.1.2: there is
    ///   a current representation); a list matches when one tag equals the stored `etag` by the weak
    ///   comparison (§8.8.3.2). A list with an invalid member never matches.
    /// - `ifModifiedSince`: evaluated only without `If-None-Match` and only when it is one valid
    ///   HTTP-date; the stored response is "not modified" when its `Last-Modified` — or, without one,
    ///   its `Date`, or else the time it was received (RFC 9111 §4.3.2) — is not after that date.
    ///
    /// The caller asks only for GET and HEAD (other methods are not answered from cache); `date`,
    /// `lastModified` and `receivedAt` are seconds since the epoch.
    public static func isNotModified(
        ifNoneMatch: String?, ifModifiedSince: String?, etag: String?, lastModified: Int?, date: Int?,
        receivedAt: Int? = nil
    ) -> Bool {
        if let ifNoneMatch { return noneMatchFails(ifNoneMatch, etag: etag) }
        guard let ifModifiedSince, let since = HTTPDate.parse(ifModifiedSince),
            let modified = lastModified ?? date ?? receivedAt
        else { return false }
        return modified <= since
    }

    /// `If-None-Match` is false (§13.1.2): `*`, or a listed tag weakly matches `etag`.
    static func noneMatchFails(_ value: String, etag: String?) -> Bool {
        if value.split(whereSeparator: { $0 == " " || $0 == "\t" }) == ["*"] { return true }
        guard let etag, let stored = EntityTag(etag), let tags = EntityTag.list(value) else { return false }
        return tags.contains { $0.weakMatches(stored) }
    }

    /// The names (lower case) of the stored fields a 304 carries (RFC 9110 §15.4.5): those a 200
    /// would carry among `Content-Location`, `Date`, `ETag`, `Vary`, `Cache-Control` and `Expires`.
    public static let notModifiedFieldNames: Set<String> = [
        "content-location", "date", "etag", "vary", "cache-control", "expires",
    ]

    /// The stored fields a 304 carries, in stored order: ``notModifiedFieldNames``, and
    /// `Last-Modified` when the stored response has no `ETag` (§15.4.5: metadata that guides cache
    /// updates, "Last-Modified might be useful if the response does not have an ETag field").
    public static func notModifiedFields(_ stored: [(name: String, value: String)]) -> [(name: String, value: String)] {
        let hasETag = stored.contains { $0.name.lowercased() == "etag" }
        return stored.filter { field in
            let name = field.name.lowercased()
            return notModifiedFieldNames.contains(name) || (!hasETag && name == "last-modified")
        }
    }
}
