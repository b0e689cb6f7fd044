/// The gRPC status codes GeoFront answers with itself, and how it reads a call's `grpc-timeout`
/// (gRPC over HTTP/2, "PROTOCOL-HTTP2.md"). A gRPC client reads its call's outcome from the
/// `grpc-status` field, not from the HTTP status: an error page would be "UNKNOWN" to it, or
/// "INTERNAL", so a failure GeoFront answers for itself is a trailers-only response (HTTP 200,
/// `content-type: application/grpc`, `grpc-status`, `grpc-message`, no body).
public enum GRPCStatus: Int, Sendable {
    case cancelled = 1
    case unknown = 2
    case deadlineExceeded = 4
    case unimplemented = 12
    case internalError = 13
    case unavailable = 14
    case permissionDenied = 7
    case resourceExhausted = 8
    case unauthenticated = 16

    /// gRPC's own mapping of an HTTP status to a call status ("HTTP to gRPC Status Code
    /// Mapping"): what a gRPC client concludes from an answer GeoFront gives as HTTP.
    public init(httpStatus: Int) {
        switch httpStatus {
        case 400: self = .internalError
        case 401: self = .unauthenticated
        case 403: self = .permissionDenied
        case 404: self = .unimplemented
        case 429, 502, 503, 504: self = .unavailable
        default: self = .unknown
        }
    }

    /// The `grpc-message` GeoFront sends with this status for an answer of `httpStatus`.
    public static func message(httpStatus: Int) -> StaticString {
        switch httpStatus {
        case 404: return "GeoFront: no route for this call"
        case 429: return "GeoFront: rate limited"
        case 502: return "GeoFront: upstream unavailable"
        case 503: return "GeoFront: no region available"
        case 504: return "GeoFront: upstream timed out"
        default: return "GeoFront: request refused"
        }
    }

    /// The longest deadline GeoFront keeps: 30 days (`grpc-timeout` allows 99,999,999 hours).
    public static let maxTimeoutMilliseconds = 30 * 86_400_000

    /// A `grpc-timeout` value (`1*8DIGIT` then `H`, `M`, `S`, `m`, `u` or `n`) in milliseconds,
    /// rounded up (at least 1) and at most ``maxTimeoutMilliseconds``; nil when it is not one.
    public static func timeoutMilliseconds(_ value: some BidirectionalCollection<UInt8>) -> Int? {
        guard value.count >= 2, value.count <= 9, let unit = value.last else { return nil }
        var amount = 0
        for byte in value.dropLast() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            amount = amount * 10 + Int(byte - UInt8(ascii: "0"))
        }
        // At most 99,999,999 of a unit: in milliseconds that is at most 3.6e14, no overflow.
        let milliseconds: Int
        switch unit {
        case UInt8(ascii: "H"): milliseconds = amount * 3_600_000
        case UInt8(ascii: "M"): milliseconds = amount * 60_000
        case UInt8(ascii: "S"): milliseconds = amount * 1000
        case UInt8(ascii: "m"): milliseconds = amount
        case UInt8(ascii: "u"): milliseconds = (amount + 999) / 1000
        case UInt8(ascii: "n"): milliseconds = (amount + 999_999) / 1_000_000
        default: return nil
        }
        return min(max(1, milliseconds), maxTimeoutMilliseconds)
    }
}
