import GeoFrontCore
import NIOCore

/// The `server` limits the front end applies to its client connection.
struct ClientConnectionLimits {
    /// `max_request_head_bytes`.
    let maxHeadBytes: Int
    /// `idle_timeout_ms`: nothing in progress.
    let idleTimeout: TimeAmount
    /// `request_timeout_ms`: a head from its first byte to its end.
    let requestTimeout: TimeAmount
    /// `max_requests_per_connection` (0: no limit).
    let maxRequests: Int

    init(_ settings: ServerSettings) {
        maxHeadBytes = settings.maxRequestHeadBytes
        idleTimeout = .milliseconds(Int64(settings.idleTimeoutMilliseconds))
        requestTimeout = .milliseconds(Int64(settings.requestTimeoutMilliseconds))
        maxRequests = settings.maxRequestsPerConnection
    }
}
