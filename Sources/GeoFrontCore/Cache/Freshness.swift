/// Freshness of a stored response and whether it may answer a request (RFC 9111 §4.2, §4.2.4,
/// §5.2.1, §5.2.2; RFC 5861). Sans I/O: every time (seconds since the epoch) is passed in.
///
/// Choices:
/// - Heuristic freshness (§4.2.2) only with `Last-Modified`: 10 % of (`Date` − `Last-Modified`),
///   capped at ``defaultHeuristicCap`` (one day) unless the caller passes another cap, and only for
///   heuristically cacheable statuses or `public` responses.
/// - A missing `Date` is taken as `response_time` (RFC 9110 §6.6.1: a recipient with a clock
///   assigns the time of receipt).
/// - An invalid `Expires` makes the lifetime 0 (§5.3); an invalid `max-age`/`s-maxage` was
///   already turned into 0 by ``CacheControl``.
/// - `s-maxage` implies `proxy-revalidate` for a shared cache (§5.2.2.10), so like
///   `must-revalidate` and `proxy-revalidate` it forbids serving stale, including RFC 5861's
///   `stale-while-revalidate` / `stale-if-error` and a request's `max-stale`.
/// - A qualified `no-cache` is treated as unqualified (see ``CacheControl/requiresRevalidation``).
public enum Freshness {
    public static let defaultHeuristicCap = 86_400

    public enum Source: String, Sendable, Equatable {
        case sMaxAge = "s-maxage"
        case maxAge = "max-age"
        case expires = "expires"
        case heuristic = "heuristic"
        case none = "none"
    }

    /// Freshness lifetime in seconds and where it came from (§4.2.1).
    public struct Lifetime: Sendable, Equatable {
        public var seconds: Int
        public var source: Source
        public init(seconds: Int, source: Source) {
            self.seconds = seconds
            self.source = source
        }
    }

    /// The freshness lifetime of a response for a shared cache (§4.2.1, §4.2.2).
    public static func lifetime(
        response: CacheHeaders, status: Int, responseTime: Int, heuristicCap: Int = defaultHeuristicCap
    ) -> Lifetime {
        let cc = response.cacheControl
        if let sMaxAge = cc.sMaxAge { return Lifetime(seconds: sMaxAge, source: .sMaxAge) }
        if let maxAge = cc.maxAge { return Lifetime(seconds: maxAge, source: .maxAge) }
        let date = response.date ?? responseTime
        switch response.expires {
        case .at(let expires): return Lifetime(seconds: max(0, expires - date), source: .expires)
        case .invalid: return Lifetime(seconds: 0, source: .expires)
        case .absent: break
        }
        if let lastModified = response.lastModified,
            cc.isPublic || CacheStorability.heuristicallyCacheableStatuses.contains(status)
        {
            return Lifetime(seconds: min(max(0, date - lastModified) / 10, heuristicCap), source: .heuristic)
        }
        return Lifetime(seconds: 0, source: .none)
    }

    /// The inputs of the age calculation (§4.2.3).
    public struct AgeInputs: Sendable, Equatable {
        /// `Age` of the stored response, 0 when absent or invalid (§5.1).
        public var ageValue: Int
        /// `Date` of the stored response (`response_time` when absent).
        public var dateValue: Int
        /// When the request that produced the stored response was sent.
        public var requestTime: Int
        /// When the response was received.
        public var responseTime: Int

        public init(ageValue: Int, dateValue: Int, requestTime: Int, responseTime: Int) {
            self.ageValue = ageValue
            self.dateValue = dateValue
            self.requestTime = requestTime
            self.responseTime = responseTime
        }

        public init(response: CacheHeaders, requestTime: Int, responseTime: Int) {
            self.init(
                ageValue: response.age ?? 0, dateValue: response.date ?? responseTime, requestTime: requestTime,
                responseTime: responseTime)
        }

        /// `corrected_initial_age` (§4.2.3): what the response's age was when it arrived.
        public var correctedInitialAge: Int {
            let apparentAge = max(0, responseTime - dateValue)
            let responseDelay = max(0, responseTime - requestTime)
            let correctedAgeValue = ageValue + responseDelay
            return max(apparentAge, correctedAgeValue)
        }

        /// `current_age` at `now` (§4.2.3).
        public func currentAge(now: Int) -> Int {
            let residentTime = max(0, now - responseTime)
            return correctedInitialAge + residentTime
        }
    }

    /// §4.2: fresh while the lifetime exceeds the current age.
    public static func isFresh(lifetime: Int, currentAge: Int) -> Bool {
        lifetime > currentAge
    }

    /// How a stored response may be used for a request.
    public enum Verdict: Sendable, Equatable {
        /// Fresh and acceptable to the request: serve it.
        case fresh
        /// Stale, but the request's `max-stale` accepts it (§5.2.1.2): serve it.
        case staleAllowed
        /// Stale within the `stale-while-revalidate` window (RFC 5861 §3): serve it and revalidate
        /// in the background.
        case staleWhileRevalidate
        /// Must be revalidated (conditional request) before it is used.
        case revalidate(RevalidateReason)
        /// `only-if-cached` (§5.2.1.7) but the stored response cannot be used without going to
        /// the origin: answer 504.
        case unsatisfiable
    }

    public enum RevalidateReason: String, Sendable, Equatable {
        case requestNoCache = "request-no-cache"
        case responseNoCache = "response-no-cache"
        case requestMaxAge = "request-max-age"
        case requestMinFresh = "request-min-fresh"
        /// Stale and `must-revalidate`, `proxy-revalidate` or `s-maxage` forbid serving stale (§4.2.4).
        case staleForbidden = "stale-forbidden"
        case stale = "stale"
    }

    /// Whether `serving` a stored response for `request` is allowed (§4.2.4, §5.2.1, RFC 5861 §3).
    /// `defaultStaleWhileRevalidate` applies when the response gives no window (0: none).
    public static func verdict(
        request: CacheControl, response: CacheControl, lifetime: Int, currentAge: Int,
        defaultStaleWhileRevalidate: Int = 0
    ) -> Verdict {
        let result = usability(
            request: request, response: response, lifetime: lifetime, currentAge: currentAge,
            defaultStaleWhileRevalidate: defaultStaleWhileRevalidate)
        if request.onlyIfCached, case .revalidate = result { return .unsatisfiable }
        return result
    }

    private static func usability(
        request: CacheControl, response: CacheControl, lifetime: Int, currentAge: Int,
        defaultStaleWhileRevalidate: Int
    ) -> Verdict {
        if request.requiresRevalidation { return .revalidate(.requestNoCache) }
        if response.requiresRevalidation { return .revalidate(.responseNoCache) }
        // `max-age=0` asks for revalidation even within the first second (ages are whole seconds).
        if let maxAge = request.maxAge, currentAge > maxAge || maxAge == 0 { return .revalidate(.requestMaxAge) }
        if let minFresh = request.minFresh, lifetime - currentAge < minFresh { return .revalidate(.requestMinFresh) }
        if isFresh(lifetime: lifetime, currentAge: currentAge) { return .fresh }
        if forbidsStale(response) { return .revalidate(.staleForbidden) }
        let staleness = currentAge - lifetime
        switch request.maxStale {
        case .any: return .staleAllowed
        case .seconds(let allowed) where staleness <= allowed: return .staleAllowed
        default: break
        }
        let window = response.staleWhileRevalidate ?? defaultStaleWhileRevalidate
        if window > 0 && staleness <= window { return .staleWhileRevalidate }
        return .revalidate(.stale)
    }

    /// Whether a stale response may be served because revalidation failed (an error, a 5xx,
    /// no upstream; RFC 5861 §4). The window is the request's `stale-if-error`, else the
    /// response's, else `defaultWindow`; directives that forbid serving stale win (§4.2.4).
    public static func mayServeStaleOnError(
        request: CacheControl, response: CacheControl, lifetime: Int, currentAge: Int, defaultWindow: Int = 0
    ) -> Bool {
        if forbidsStale(response) || response.requiresRevalidation { return false }
        if isFresh(lifetime: lifetime, currentAge: currentAge) { return true }
        let window = request.staleIfError ?? response.staleIfError ?? defaultWindow
        return window > 0 && currentAge - lifetime <= window
    }

    /// The `Age` field value for a response served from the cache (RFC 9111 §5.1): delta-seconds,
    /// at most 2147483648.
    public static func ageFieldValue(_ currentAge: Int) -> String {
        String(min(max(0, currentAge), CacheControl.maxDeltaSeconds))
    }

    /// `must-revalidate`, `proxy-revalidate` and (for a shared cache) `s-maxage` forbid serving stale.
    public static func forbidsStale(_ response: CacheControl) -> Bool {
        response.mustRevalidate || response.proxyRevalidate || response.sMaxAge != nil
    }
}
