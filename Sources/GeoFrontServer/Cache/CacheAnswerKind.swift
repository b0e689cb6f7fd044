import GeoFrontCore

/// Which answer a usable stored response gives a request (RFC 9110 §13, §14): 304 when the
/// request's own validators match it, 206/416 for a single byte range of a stored 200, else
/// the whole response (its head alone for HEAD).
enum CacheAnswerKind {
    static func choose(_ entry: StoredResponse, request: CacheRequest) -> CachedAnswers.Kind {
        let headOnly = request.method == .head
        let lastModified = entry.head.lastModified.flatMap { HTTPDate.parse($0) }
        if ConditionalRequest.isNotModified(
            ifNoneMatch: request.ifNoneMatch, ifModifiedSince: request.ifModifiedSince, etag: entry.head.etag,
            lastModified: lastModified, date: entry.head.headers.date, receivedAt: entry.age.responseTime)
        {
            return .notModified
        }
        guard request.range != nil, entry.head.status == 200, request.method == .get else {
            return .full(headOnly: headOnly)
        }
        switch ByteRange.parse(
            request.range, ifRange: request.ifRange, length: entry.body.readableBytes, etag: entry.head.etag,
            lastModified: lastModified, date: entry.head.headers.date)
        {
        case .none: return .full(headOnly: headOnly)
        case .satisfiable(let start, let end): return .partial(start...end, headOnly: headOnly)
        case .unsatisfiable: return .rangeNotSatisfiable
        }
    }
}
