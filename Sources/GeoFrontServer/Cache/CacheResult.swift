/// How the cache took part in an answer: `geofront_cache_requests_total{result}` and the access
/// log's `cache` field.
enum CacheResult: Int, CaseIterable, Sendable {
    /// Answered from a stored response that was fresh (or acceptable to the request).
    case hit
    /// Went upstream for a GET or HEAD: nothing usable was stored, or a stale response was
    /// replaced by a new one (collapsed requests count here too).
    case miss
    /// Answered from a stale stored response (`stale-while-revalidate`, `stale-if-error`).
    case stale
    /// A stale stored response was revalidated upstream (304) and answered from.
    case revalidated
    /// The cache did not take part: another method than GET and HEAD, or a request with `no-store`.
    case bypass

    var label: String {
        switch self {
        case .hit: "hit"
        case .miss: "miss"
        case .stale: "stale"
        case .revalidated: "revalidated"
        case .bypass: "bypass"
        }
    }
}
