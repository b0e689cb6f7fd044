import GeoFrontCore
import NIOCore

/// The answers the front end makes itself from a routed request: redirects (from the loop's
/// pre-built ``RedirectResponses``), 503 when no region is available, and `tls.redirect_http`'s
/// 308 to the TLS listener.
enum LocalAnswers {
    /// The region's redirect: its pre-built prefix, the request's path and query (unsafe bytes
    /// percent-encoded), its pre-built suffix; then `affinity`'s `Set-Cookie` line when one is given.
    static func redirect(
        _ responses: RedirectResponses, region: Int, path: UnsafeRawBufferPointer, close: Bool, http10: Bool,
        setCookie: [UInt8]? = nil, _ allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let prefix = responses.prefix[region]
        let suffix = responses.suffix[region]
        let bound = prefix.count + 1 + path.count * 3 + suffix.count + 28 + (setCookie?.count ?? 0)
        var out = allocator.buffer(capacity: bound)
        // One write into the buffer (``RawHeadWriter``), not one per piece.
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { buffer in
            var head = RawHeadWriter(buffer)
            head.append(prefix)
            // A path that needs nothing done to it (the usual one) is copied whole.
            if path.first == UInt8(ascii: "/"), path.allSatisfy(RedirectLocation.isSafe) {
                head.append(path)
            } else {
                RedirectLocation.appendPath(path) { head.append(byte: $0) }
            }
            head.append(suffix)
            if let setCookie { head.append(setCookie) }
            head.appendHeadEnd(close: close, http10: http10)
            return head.count
        }
        return out
    }

    /// 503: every region is down and `when_all_down` says so.
    static func unavailable(_ responses: RedirectResponses, close: Bool, _ allocator: ByteBufferAllocator)
        -> ByteBuffer
    {
        var out = allocator.buffer(capacity: responses.unavailable.count + 80)
        out.writeBytes(responses.unavailable.prefix(responses.unavailable.count - 2))
        if close { out.writeStaticString("Connection: close\r\n") }
        out.writeStaticString("\r\n")
        out.writeStaticString("503 Service Unavailable: no region is available\n")
        return out
    }

    /// `tls.redirect_http`: 308 to the same URL on the TLS listener, or 400 when the request's
    /// `Host` is not a host name or IP literal (``HTTPSRedirect``).
    static func toHTTPS(
        _ bytes: UnsafeRawBufferPointer, head: RequestHead, httpsPort: Int, close: Bool,
        _ allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var host: String?
        var index = head.target.start + head.target.count + 11  // " HTTP/1.x\r\n"
        while host == nil, let field = try? FieldLines.next(bytes, at: &index, end: head.length) {
            if FieldLines.equals(bytes, field.name, "host") { host = HTTP1FrontEnd.text(bytes, field.value) }
        }
        let target = HTTP1FrontEnd.text(bytes, head.target)
        guard let location = HTTPSRedirect.location(host: host, target: target, httpsPort: httpsPort) else {
            return LocalResponses.plain(allocator, status: 400, keepAlive: !close)
        }
        var out = allocator.buffer(capacity: location.utf8.count + 120)
        out.writeStaticString("HTTP/1.1 308 Permanent Redirect\r\nLocation: ")
        out.writeString(location)
        out.writeStaticString("\r\nCache-Control: no-store\r\nContent-Length: 0\r\n")
        if close { out.writeStaticString("Connection: close\r\n") }
        out.writeStaticString("\r\n")
        return out
    }
}
