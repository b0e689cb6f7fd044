import GeoFrontCore
import NIOCore

/// An upstream response head as the cache keeps it: the status line and the field lines a stored
/// answer repeats, and what the caching rules read from the whole head. Built once per response
/// that went through the cache (a miss, a revalidation), never per hit.
///
/// Kept out of the stored lines: hop-by-hop fields and those the upstream's `Connection` names,
/// the framing (`Transfer-Encoding`, `Content-Length`: every answer from the cache states its
/// own), `Age` (recomputed per answer, RFC 9111 §4.2.3), `Set-Cookie` (never repeated to other
/// clients), the purge tags (`Surrogate-Key`, `Cache-Tag`), `X-GeoFront-Region`, and
/// `proxy.strip_response_headers`.
///
/// A class, immutable: the fill, its followers and the stored response share one (a copy is one
/// reference, not a dozen).
final class StoredHead: Sendable {
    let status: Int
    /// `HTTP/1.1 NNN reason CRLF` then the kept field lines, each with its CRLF.
    let wire: ByteBuffer
    /// Bytes of the status line at the start of ``wire``.
    let statusLineLength: Int
    /// What the rules read from the whole upstream head (including `Age` and `Set-Cookie`).
    let headers: CacheHeaders
    let etag: String?
    let lastModified: String?
    let tags: [String]
    /// `Vary`'s field names, lower case, sorted, once each.
    let varyNames: [String]

    /// Every field line of a parsed upstream head, as text (the cache's slow paths only).
    static func allFields(_ bytes: UnsafeRawBufferPointer, head: ResponseHead) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        var index = head.fieldsStart
        while let field = try? FieldLines.next(bytes, at: &index, end: head.length) {
            fields.append(
                (
                    String(decoding: field.name.bytes(in: bytes), as: UTF8.self),
                    String(decoding: field.value.bytes(in: bytes), as: UTF8.self)
                ))
        }
        return fields
    }

    /// The stored form of the upstream head `head` in `bytes`, whose cache fields are `read`;
    /// `strip` is the snapshot's lower-case list of removed response fields.
    init(
        _ bytes: UnsafeRawBufferPointer, head: ResponseHead, read: ResponseCacheFields, strip: [[UInt8]],
        allocator: ByteBufferAllocator
    ) {
        status = head.status
        headers = read.headers
        tags = read.tags
        etag = read.etag
        lastModified = read.lastModified
        varyNames = read.varyNames
        // §3.1: fields only for the proxy, and those a `private="…"` names, are never stored.
        let privateNames = headers.cacheControl.privateFields.map { Array($0.lowercased().utf8) }
        if privateNames.isEmpty, let wire = read.wire {  // written in the fields' pass
            statusLineLength = Self.statusLineLength(bytes, head: head)
            self.wire = wire
            return
        }
        var wire = allocator.buffer(capacity: head.length)
        Self.writeStatusLine(bytes, head: head, into: &wire)
        statusLineLength = wire.readableBytes
        var index = head.fieldsStart
        while let field = try? FieldLines.next(bytes, at: &index, end: head.length) {
            let name = field.name
            if !Self.keeps(bytes, name, head: head, strip: strip) { continue }
            if !privateNames.isEmpty, privateNames.contains(where: { FieldLines.equals(bytes, name, lowercased: $0) }) {
                continue
            }
            wire.writeBytes(field.line.bytes(in: bytes))
        }
        self.wire = wire
    }

    /// `HTTP/1.1 NNN reason CRLF` for the upstream head `head`.
    static func writeStatusLine(_ bytes: UnsafeRawBufferPointer, head: ResponseHead, into wire: inout ByteBuffer) {
        wire.writeStaticString("HTTP/1.1 ")
        wire.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.statusStart..<head.fieldsStart]))
    }

    static func statusLineLength(_ bytes: UnsafeRawBufferPointer, head: ResponseHead) -> Int {
        9 + head.fieldsStart - head.statusStart
    }

    /// Whether a stored head keeps the field `name` (see the type's comment; `private="…"` names
    /// apart): not hop-by-hop, not named by the upstream's `Connection`, not one the cache drops,
    /// not in `strip`.
    static func keeps(
        _ bytes: UnsafeRawBufferPointer, _ name: RequestHead.Span, head: ResponseHead, strip: [[UInt8]]
    ) -> Bool {
        if HopByHop.contains(bytes, name) || HopByHop.isNamed(bytes, name, in: head.connectionNames) { return false }
        if isDropped(bytes, name) { return false }
        if !strip.isEmpty, strip.contains(where: { FieldLines.equals(bytes, name, lowercased: $0) }) { return false }
        return true
    }

    /// The kept field lines as text (for 304 updates and 304 answers: slow paths).
    var fields: [CacheHeaderField] {
        var result: [CacheHeaderField] = []
        fieldLines.withUnsafeReadableBytes { bytes in
            RouteRequest.forEachField(in: bytes, fields: RequestHead.Span(start: 0, count: bytes.count)) {
                name, value in
                result.append(
                    CacheHeaderField(
                        name: String(decoding: name.bytes(in: bytes), as: UTF8.self),
                        value: String(decoding: value.bytes(in: bytes), as: UTF8.self)))
                return true
            }
        }
        return result
    }

    /// A stored head with its fields replaced (a 304's update, RFC 9111 §3.2): the wire form is
    /// written again from `fields`.
    init(updating stored: StoredHead, fields: [CacheHeaderField], allocator: ByteBufferAllocator) {
        status = stored.status
        statusLineLength = stored.statusLineLength
        tags = stored.tags
        varyNames = stored.varyNames
        var wire = allocator.buffer(capacity: stored.wire.readableBytes + 64)
        wire.writeImmutableBuffer(stored.wire.getSlice(at: stored.wire.readerIndex, length: stored.statusLineLength)!)
        for field in fields {
            wire.writeString(field.name)
            wire.writeStaticString(": ")
            wire.writeString(field.value)
            wire.writeStaticString("\r\n")
        }
        self.wire = wire
        headers = CacheHeaders(fields.map { ($0.name, $0.value) })
        etag = fields.first { $0.name.lowercased() == "etag" }?.value
        lastModified = fields.first { $0.name.lowercased() == "last-modified" }?.value
    }

    /// Fields the stored lines never keep (see the type's comment); hop-by-hop ones are apart.
    private static func isDropped(_ bytes: UnsafeRawBufferPointer, _ name: RequestHead.Span) -> Bool {
        switch name.count {
        case 3: return FieldLines.equals(bytes, name, "age")
        case 9: return FieldLines.equals(bytes, name, "cache-tag")
        case 10: return FieldLines.equals(bytes, name, "set-cookie")
        case 13: return FieldLines.equals(bytes, name, "surrogate-key")
        case 14: return FieldLines.equals(bytes, name, "content-length")
        case 17: return FieldLines.equals(bytes, name, "x-geofront-region")
        case 18: return FieldLines.equals(bytes, name, "proxy-authenticate")
        case 19: return FieldLines.equals(bytes, name, "proxy-authorization")
        case 25: return FieldLines.equals(bytes, name, "proxy-authentication-info")
        default: return false
        }
    }

    /// The stored field lines without the status line.
    var fieldLines: ByteBuffer {
        wire.getSlice(at: wire.readerIndex + statusLineLength, length: wire.readableBytes - statusLineLength)!
    }
}
