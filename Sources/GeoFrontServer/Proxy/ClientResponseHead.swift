import GeoFrontCore
import NIOCore

/// The response head a client sees, written on bytes from the upstream's: the status line as
/// HTTP/1.1, the upstream's field lines in order minus the hop-by-hop ones (and those its
/// `Connection` names), `proxy.strip_response_headers` (with `Server` by default) and any
/// `X-GeoFront-Region`; then `X-GeoFront-Region` and the client connection's own `Connection`.
/// A route's `response_headers` edits, its new sticky cookie, `affinity`'s cookie and the cache's
/// `Cache-Status` apply to a final response.
/// `Transfer-Encoding` stays (the body goes on as the upstream framed it) unless the body is
/// de-chunked for an HTTP/1.0 client. A `101 Switching Protocols` keeps `Connection: Upgrade`
/// and `Upgrade`. The one place response headers are edited.
enum ClientResponseHead {
    /// `extraCapacity`: room for a small body copied behind the head.
    static func write(
        _ bytes: UnsafeRawBufferPointer, head: ResponseHead, region: [UInt8], strip: [[UInt8]], closeClient: Bool,
        http10: Bool, dechunk: Bool, edits: HeaderEditBytes? = nil, setCookie: [UInt8]? = nil,
        affinityCookie: [UInt8]? = nil, cacheStatus: CacheStatus? = nil, extraCapacity: Int,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let final = head.status >= 200
        let statusBound = cacheStatus.map { CachedAnswers.statusBound($0) + 16 } ?? 0
        let edited = (edits?.lines.count ?? 0) + (setCookie?.count ?? 0) + (affinityCookie?.count ?? 0) + statusBound
        var out = allocator.buffer(capacity: head.length + region.count + 48 + edited + extraCapacity)
        // Kept lines that follow each other in the upstream's head are copied in one write (most
        // are kept), starting with the status line when the upstream's is already HTTP/1.1's.
        var kept = KeptLineRun(at: head.fieldsStart)
        if head.version == .http11 && head.statusStart == 9 {
            kept = KeptLineRun(holding: 0..<head.fieldsStart)
        } else {
            out.writeStaticString("HTTP/1.1 ")
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.statusStart..<head.fieldsStart]))
        }
        var index = head.fieldsStart
        var upgrade: RequestHead.Span?
        while let field = try? FieldLines.next(bytes, at: &index, end: head.length) {
            let name = field.name
            var copy = !HopByHop.contains(bytes, name)
            if !copy && !dechunk && FieldLines.equals(bytes, name, "transfer-encoding") { copy = true }
            if !copy && head.status == 101 && FieldLines.equals(bytes, name, "upgrade") { upgrade = field.value }
            if copy, FieldLines.equals(bytes, name, "x-geofront-region") { copy = false }
            if copy, HopByHop.isNamed(bytes, name, in: head.connectionNames) { copy = false }
            if copy, !strip.isEmpty, strip.contains(where: { FieldLines.equals(bytes, name, lowercased: $0) }) {
                copy = false
            }
            if copy, final, let edits, edits.drops(bytes, name) { copy = false }
            if copy, let ended = kept.keep(field.line) {
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[ended]))
            }
        }
        if let last = kept.last { out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[last])) }
        // The lines GeoFront adds, in one write.
        let bound = 80 + region.count + (final ? edited : 0) + (upgrade?.count ?? 0)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { buffer in
            var tail = RawHeadWriter(buffer)
            if let upgrade {
                tail.append("Connection: Upgrade\r\nUpgrade: ")
                tail.append(upgrade.bytes(in: bytes))
                tail.append("\r\n")
            }
            if final, let edits { tail.append(edits.lines) }
            if final, let setCookie { tail.append(setCookie) }
            if final, let affinityCookie { tail.append(affinityCookie) }
            if final, let cacheStatus {
                tail.append("Cache-Status: ")
                CachedAnswers.writeStatus(cacheStatus, into: &tail)
                tail.append("\r\n")
            }
            guard final || head.status == 101 else {
                tail.append("\r\n")
                return tail.count
            }
            tail.append("X-GeoFront-Region: ")
            tail.append(region)
            tail.append("\r\n")
            if head.status == 101 {
                tail.append("\r\n")
            } else {
                tail.appendHeadEnd(close: closeClient, http10: http10)
            }
            return tail.count
        }
        return out
    }
}
