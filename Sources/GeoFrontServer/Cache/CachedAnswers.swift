import GeoFrontCore
import NIOCore

/// Answers written from a stored response: the stored head's bytes, then the per-answer lines
/// (`Content-Length`, `Age`, `Cache-Status`, the route's response edits and cookies,
/// `X-GeoFront-Region`, the connection's own `Connection`), then the body. No parsing on a
/// plain hit: the stored lines are copied as they are.
enum CachedAnswers {
    /// A body at most this long is copied behind the head (one write); a longer one is written as
    /// the stored buffer itself (shared, not copied).
    static let inlineBody = 16 * 1024

    enum Kind: Equatable {
        /// The stored status, head and body (no body for HEAD).
        case full(headOnly: Bool)
        /// `304 Not Modified` to a conditional request the stored response satisfies.
        case notModified
        /// `206 Partial Content`: bytes `range` of the body (inclusive bounds; no body for HEAD).
        case partial(ClosedRange<Int>, headOnly: Bool)
        /// `416 Range Not Satisfiable`.
        case rangeNotSatisfiable
    }

    /// What an answer carries beyond the stored response.
    struct Extras {
        var age: Int
        var status: CacheStatus
        var region: [UInt8]
        var close: Bool
        var http10: Bool
        /// The route's `response_headers` edits.
        var edits: HeaderEditBytes?
        /// `Set-Cookie` lines (a new sticky cookie, `affinity`'s), each with its CRLF.
        var cookies: [UInt8]?
    }

    /// The answer's head (with the body behind it when short) and, for a long body, the body.
    static func write(
        _ entry: StoredResponse, _ kind: Kind, _ extras: Extras, allocator: ByteBufferAllocator
    ) -> (head: ByteBuffer, body: ByteBuffer?) {
        let bodyLength = entry.body.readableBytes
        var body: ByteBuffer?
        switch kind {
        case .full(let headOnly):
            if !headOnly && bodyLength > 0 { body = entry.body }
        case .partial(let range, let headOnly):
            if !headOnly {
                body = entry.body.getSlice(at: entry.body.readerIndex + range.lowerBound, length: range.count)
            }
        case .notModified, .rangeNotSatisfiable:
            break
        }
        let inline = (body?.readableBytes ?? 0) <= inlineBody
        var out = allocator.buffer(
            capacity: entry.head.wire.readableBytes + 200 + extras.region.count + (extras.edits?.lines.count ?? 0)
                + (extras.cookies?.count ?? 0) + (inline ? body?.readableBytes ?? 0 : 0))
        switch kind {
        case .full:
            writeLines(entry.head, into: &out, edits: extras.edits, statusLine: true)
        case .partial(let range, _):
            out.writeStaticString("HTTP/1.1 206 Partial Content\r\n")
            writeLines(entry.head, into: &out, edits: extras.edits, statusLine: false)
            out.writeStaticString("Content-Range: bytes ")
            writeDecimal(range.lowerBound, into: &out)
            out.writeStaticString("-")
            writeDecimal(range.upperBound, into: &out)
            out.writeStaticString("/")
            writeDecimal(bodyLength, into: &out)
            out.writeStaticString("\r\nContent-Length: ")
            writeDecimal(range.count, into: &out)
            out.writeStaticString("\r\n")
        case .notModified:
            out.writeStaticString("HTTP/1.1 304 Not Modified\r\n")
            for field in ConditionalRequest.notModifiedFields(entry.head.fields.map { ($0.name, $0.value) }) {
                out.writeString(field.name)
                out.writeStaticString(": ")
                out.writeString(field.value)
                out.writeStaticString("\r\n")
            }
        case .rangeNotSatisfiable:
            out.writeStaticString("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */")
            writeDecimal(bodyLength, into: &out)
            out.writeStaticString("\r\nContent-Length: 0\r\n")
        }
        if case .full = kind {
            writeTrailingLines(extras, contentLength: bodyLength, into: &out)
        } else {
            writeTrailingLines(extras, into: &out)
        }
        if let part = body, inline {
            out.writeImmutableBuffer(part)
            body = nil
        }
        return (out, body)
    }

    /// The lines every answer from the cache ends its head with: `Content-Length` when given,
    /// `Age`, `Cache-Status`, the route's added lines and cookies, `X-GeoFront-Region`, the
    /// connection's `Connection`, the empty line. One write (``RawHeadWriter``).
    static func writeTrailingLines(_ extras: Extras, contentLength: Int? = nil, into out: inout ByteBuffer) {
        let bound =
            160 + statusBound(extras.status) + extras.region.count + (extras.edits?.lines.count ?? 0)
            + (extras.cookies?.count ?? 0)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { buffer in
            var lines = RawHeadWriter(buffer)
            if let contentLength {
                lines.append("Content-Length: ")
                lines.appendDecimal(contentLength)
                lines.append("\r\n")
            }
            lines.append("Age: ")
            lines.appendDecimal(min(max(0, extras.age), CacheControl.maxDeltaSeconds))
            lines.append("\r\nCache-Status: ")
            writeStatus(extras.status, into: &lines)
            lines.append("\r\n")
            if let edits = extras.edits { lines.append(edits.lines) }
            if let cookies = extras.cookies { lines.append(cookies) }
            lines.append("X-GeoFront-Region: ")
            lines.append(extras.region)
            lines.append("\r\n")
            lines.appendHeadEnd(close: extras.close, http10: extras.http10)
            return lines.count
        }
    }

    /// 504 for `only-if-cached` without a usable stored response (RFC 9111 §5.2.1.7).
    static func gatewayTimeout(status: CacheStatus, region: [UInt8], close: Bool, allocator: ByteBufferAllocator)
        -> ByteBuffer
    {
        var out = allocator.buffer(capacity: 200)
        out.writeStaticString(
            "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n")
        out.writeStaticString("Cache-Status: ")
        writeStatus(status, into: &out)
        out.writeStaticString("\r\nX-GeoFront-Region: ")
        out.writeBytes(region)
        out.writeStaticString("\r\nContent-Length: 20\r\n")
        if close { out.writeStaticString("Connection: close\r\n") }
        out.writeStaticString("\r\n504 Gateway Timeout\n")
        return out
    }

    /// The stored lines (with the status line when asked), less those the route's edits drop.
    static func writeLines(
        _ head: StoredHead, into out: inout ByteBuffer, edits: HeaderEditBytes?, statusLine: Bool
    ) {
        let wire = head.wire
        guard let edits, !edits.dropped.isEmpty else {
            if statusLine {
                out.writeImmutableBuffer(wire)
            } else {
                out.writeImmutableBuffer(head.fieldLines)
            }
            return
        }
        wire.withUnsafeReadableBytes { bytes in
            if statusLine { out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[..<head.statusLineLength])) }
            var index = head.statusLineLength
            // The stored lines end without the head's empty line: walk them by hand.
            while index < bytes.count {
                var end = index
                while end + 1 < bytes.count && !(bytes[end] == 13 && bytes[end + 1] == 10) { end += 1 }
                var colon = index
                while colon < end && bytes[colon] != UInt8(ascii: ":") { colon += 1 }
                let name = RequestHead.Span(start: index, count: colon - index)
                if !edits.drops(bytes, name) {
                    out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[index..<(end + 2)]))
                }
                index = end + 2
            }
        }
    }

    /// `Cache-Status`'s value (RFC 9211), written as bytes: the same text as
    /// ``CacheStatus/fieldValue`` without making a string.
    static func writeStatus(_ status: CacheStatus, into out: inout ByteBuffer) {
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: statusBound(status)) { buffer in
            var value = RawHeadWriter(buffer)
            writeStatus(status, into: &value)
            return value.count
        }
    }

    /// The most bytes ``writeStatus(_:into:)`` writes for `status`.
    static func statusBound(_ status: CacheStatus) -> Int {
        128 + (status.detail?.utf8.count ?? 0)
    }

    static func writeStatus(_ status: CacheStatus, into out: inout RawHeadWriter) {
        out.append("GeoFront")
        if status.hit { out.append("; hit") }
        if let forward = status.forward {
            out.append("; fwd=")
            out.append(token(forward))
        }
        if let forwardStatus = status.forwardStatus {
            out.append("; fwd-status=")
            out.appendDecimal(forwardStatus)
        }
        if let ttl = status.ttl {
            out.append("; ttl=")
            out.appendDecimal(ttl)
        }
        if status.stored { out.append("; stored") }
        if status.collapsed { out.append("; collapsed") }
        if var detail = status.detail, !detail.isEmpty {
            detail.withUTF8 { bytes in
                guard bytes.allSatisfy(CacheStatus.isTokenByte) else { return }
                out.append("; detail=")
                out.append(UnsafeRawBufferPointer(bytes))
            }
        }
    }

    /// ``CacheStatus/Forward``'s token (its raw value), without making a string.
    private static func token(_ forward: CacheStatus.Forward) -> StaticString {
        switch forward {
        case .bypass: "bypass"
        case .method: "method"
        case .uriMiss: "uri-miss"
        case .varyMiss: "vary-miss"
        case .request: "request"
        case .stale: "stale"
        case .partial: "partial"
        }
    }

    /// `value` in decimal, without making a string.
    static func writeDecimal(_ value: Int, into out: inout ByteBuffer) {
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { buffer in
            var digits = RawHeadWriter(buffer)
            digits.appendDecimal(value)
            return digits.count
        }
    }
}
