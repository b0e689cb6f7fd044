/// Why one attempt at an upstream failed: a typed value (kind, region, upstream) instead of a
/// sentence, built where the failure is seen and read by metrics, outlier detection and the retry
/// rules alike, on every proxy path.
public struct UpstreamFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The upstream refused the TCP connection.
        case refused
        /// Connecting failed otherwise (unreachable, reset, TLS handshake); the detail says how.
        case connectFailed(String)
        /// No connection (TCP and TLS) within `connect_timeout_ms`.
        case connectTimeout
        /// The per-loop connection limit to the upstream was reached: says nothing about its
        /// health, so outlier detection does not hear of it.
        case poolExhausted
        /// No response head within `response_timeout_ms` (the milliseconds).
        case responseTimeout(milliseconds: Int)
        /// The connection closed before a whole response head.
        case closedBeforeResponse
        /// A response head or chunked framing that does not parse.
        case malformedResponse
        /// A malformed chunked response body.
        case malformedBody
        /// A 5xx answer (with outlier detection's `count_5xx`).
        case status(Int)
    }

    public let kind: Kind
    /// The region's name.
    public let region: String
    /// The upstream's `host:port`.
    public let upstream: String

    public init(_ kind: Kind, region: String, upstream: String) {
        self.kind = kind
        self.region = region
        self.upstream = upstream
    }

    /// The `kind` label of `geofront_upstream_errors_total`.
    public var metricLabel: String {
        switch kind {
        case .status: return "5xx"
        case .refused: return "refused"
        case .connectTimeout, .responseTimeout: return "timeout"
        case .closedBeforeResponse: return "closed"
        case .poolExhausted: return "pool_exhausted"
        case .connectFailed, .malformedResponse, .malformedBody: return "other"
        }
    }

    /// Whether outlier detection counts it against the upstream.
    public var countsAgainstUpstream: Bool {
        if case .poolExhausted = kind { return false }
        return true
    }

    /// What happened, for people (the status page, `route --probe`, logs); names no upstream.
    public var reason: String {
        switch kind {
        case .refused: return "connection refused"
        case .connectFailed(let detail): return detail
        case .connectTimeout: return "connect timeout"
        case .poolExhausted: return "connection pool exhausted"
        case .responseTimeout(let milliseconds): return "no response within \(milliseconds) ms"
        case .closedBeforeResponse: return "connection closed before a response"
        case .malformedResponse: return "malformed response"
        case .malformedBody: return "malformed chunked body"
        case .status(let code): return "status \(code)"
        }
    }

    public var description: String { "\(region) \(upstream): \(reason)" }
}
