import GeoFrontCore
import NIOCore

/// The front end's own answers (not the redirects, which are pre-built per snapshot).
enum LocalResponses {
    /// 429 for a client over `rate_limit`.
    static func tooManyRequests(_ allocator: ByteBufferAllocator, retryAfter: Int, close: Bool) -> ByteBuffer {
        var out = allocator.buffer(capacity: 200)
        out.writeStaticString("HTTP/1.1 429 Too Many Requests\r\nRetry-After: ")
        out.writeString(String(retryAfter))
        out.writeStaticString(
            "\r\nCache-Control: no-store\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 22\r\n")
        if close { out.writeStaticString("Connection: close\r\n") }
        out.writeStaticString("\r\n429 Too Many Requests\n")
        return out
    }

    /// GeoFront's own error answer to a request: ``grpc(_:status:code:message:keepAlive:region:)``
    /// for a gRPC call, else ``plain(_:status:keepAlive:region:)``.
    static func failure(
        _ allocator: ByteBufferAllocator, status: Int, keepAlive: Bool, region: [UInt8]? = nil, grpcCall: Bool
    ) -> ByteBuffer {
        grpcCall
            ? grpc(allocator, status: status, keepAlive: keepAlive, region: region)
            : plain(allocator, status: status, keepAlive: keepAlive, region: region)
    }

    /// A gRPC call's answer for an HTTP `status` GeoFront gives itself: trailers-only (HTTP 200,
    /// `grpc-status` and `grpc-message` as fields, no body; ``GRPCStatus``), or `code` when given.
    static func grpc(
        _ allocator: ByteBufferAllocator, status: Int, code: GRPCStatus? = nil, message: StaticString? = nil,
        keepAlive: Bool, region: [UInt8]? = nil
    ) -> ByteBuffer {
        var out = allocator.buffer(capacity: 220)
        out.writeStaticString("HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\ngrpc-status: ")
        out.writeString(String((code ?? GRPCStatus(httpStatus: status)).rawValue))
        out.writeStaticString("\r\ngrpc-message: ")
        out.writeStaticString(message ?? GRPCStatus.message(httpStatus: status))
        out.writeStaticString("\r\nCache-Control: no-store\r\n")
        if let region {
            out.writeStaticString("X-GeoFront-Region: ")
            out.writeBytes(region)
            out.writeStaticString("\r\n")
        }
        out.writeStaticString(
            keepAlive ? "Content-Length: 0\r\n\r\n" : "Content-Length: 0\r\nConnection: close\r\n\r\n")
        return out
    }

    /// 400, 404 (no route), 408 or 431 (or 502/504 with `region` for the proxy), with `Connection: close`
    /// unless `keepAlive`.
    static func plain(_ allocator: ByteBufferAllocator, status: Int, keepAlive: Bool, region: [UInt8]? = nil)
        -> ByteBuffer
    {
        let reason: StaticString
        switch status {
        case 404: reason = "404 Not Found"
        case 408: reason = "408 Request Timeout"
        case 431: reason = "431 Request Header Fields Too Large"
        case 502: reason = "502 Bad Gateway"
        case 504: reason = "504 Gateway Timeout"
        default: reason = "400 Bad Request"
        }
        var out = allocator.buffer(capacity: 200)
        out.writeStaticString("HTTP/1.1 ")
        out.writeStaticString(reason)
        out.writeStaticString("\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n")
        if let region {
            out.writeStaticString("X-GeoFront-Region: ")
            out.writeBytes(region)
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("Content-Length: ")
        out.writeString(String(reason.utf8CodeUnitCount + 1))
        out.writeStaticString(keepAlive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n")
        out.writeStaticString(reason)
        out.writeStaticString("\n")
        return out
    }
}
