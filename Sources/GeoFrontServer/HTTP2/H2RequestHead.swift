import GeoFrontCore
import NIOCore
import NIOHPACK

/// An HTTP/2 request's header block written as the HTTP/1.1 request head the front end parses
/// (RFC 9113 §8.3.1): `:method :path HTTP/1.1`, `Host` from `:authority` (else the `host`
/// field), the other fields as they came, the `cookie` crumbs joined into one field (§8.2.3), and
/// the body's framing — `Content-Length` when the block ended the stream or gave one, else
/// `Transfer-Encoding: chunked`.
///
/// What RFC 9113 §8.2 and §8.3 call malformed is refused here, in the same pass (NIOHTTP2's own
/// header block validation is off for client connections: it checked every block a second
/// time, ≈ 1 µs per stream): missing, repeated, unknown or misplaced pseudo-header fields, names
/// that are not lower-case tokens, NUL, CR or LF in a value or whitespace around it,
/// connection-specific fields, `te` other than `trailers`, a `content-length` that is not a
/// number (or repeats with another), or is not 0 on a block that ends the stream (§8.1.1;
/// ``H2ServerStream`` checks that the DATA frames add up to it). What HTTP/1.1 syntax needs on top (a method
/// that is a token, an origin-form target, an authority without userinfo, and no spaces or
/// controls in either) is checked here too, and the front end's HTTP/1.1 parser then reads the
/// head as strictly as any other.
struct H2RequestHead {
    enum Body: Equatable {
        /// END_STREAM came with the header block.
        case none
        /// `content-length` given: DATA passes through as it is.
        case length
        /// No length: each DATA frame becomes a chunk.
        case chunked
    }

    let bytes: ByteBuffer
    let body: Body
    /// The `content-length` the DATA frames must add up to.
    let contentLength: Int?
    let isHEAD: Bool

    struct Malformed: Error {}

    static func make(_ headers: HPACKHeaders, endStream: Bool, allocator: ByteBufferAllocator) throws(Malformed)
        -> H2RequestHead
    {
        var method: String?
        var scheme = false
        var path: String?
        var authority: String?
        var host: String?
        var contentLength: Int?
        var cookies = 0
        var size = 32
        // A regular field came: no pseudo-header field may follow (§8.3).
        var regular = false
        for (name, value, _) in headers {
            size += name.utf8.count + value.utf8.count + 4
            guard Self.isValidValue(value) else { throw Malformed() }
            // Names are told apart by length first: a `switch` on strings compares each case in turn.
            let nameLength = name.utf8.count
            if name.utf8.first == UInt8(ascii: ":") {
                guard !regular else { throw Malformed() }
                switch nameLength {
                case 7 where name == ":method" && method == nil: method = value
                case 7 where name == ":scheme" && !scheme: scheme = true
                case 5 where name == ":path" && path == nil: path = value
                case 10 where name == ":authority" && authority == nil: authority = value
                default: throw Malformed()  // repeated, a response's, or unknown (§8.3)
                }
                continue
            }
            regular = true
            guard Self.isLowerCaseToken(name) else { throw Malformed() }
            switch nameLength {
            case 4 where name == "host": host = value
            case 14 where name == "content-length":
                guard let length = Self.contentLength(value), contentLength == nil || contentLength == length else {
                    throw Malformed()
                }
                contentLength = length
            case 6 where name == "cookie": cookies += 1
            case 10 where name == "connection" || name == "keep-alive", 16 where name == "proxy-connection",
                17 where name == "transfer-encoding", 7 where name == "upgrade":
                throw Malformed()  // connection-specific (§8.2.2)
            case 2 where name == "te" && value != "trailers":
                throw Malformed()
            default: break
            }
        }
        // CONNECT names an authority only (§8.5; no extended CONNECT is offered); every other
        // request has :scheme and :path (§8.3.1).
        if method == "CONNECT" {
            guard authority != nil, !scheme, path == nil else { throw Malformed() }
        } else {
            guard scheme, path != nil else { throw Malformed() }
        }
        guard let method, Self.isToken(method) else { throw Malformed() }
        // CONNECT has no :path; the front end refuses it (400) like an HTTP/1.1 CONNECT.
        let target = method == "CONNECT" ? (authority ?? "") : (path ?? "")
        guard Self.isVisible(target) else { throw Malformed() }
        // Origin form, or `*` (§8.3.1): an absolute URI here would name a host of its own.
        if method != "CONNECT" {
            guard target.utf8.first == UInt8(ascii: "/") || target == "*" else { throw Malformed() }
        }
        let hostValue = authority ?? host
        if let hostValue {
            // No userinfo in `:authority` (§8.3.1).
            guard !hostValue.isEmpty, Self.allBytes(hostValue, { $0 > 0x20 && $0 != 0x7f && $0 != UInt8(ascii: "@") })
            else { throw Malformed() }
        }

        // No content follows a block that ends the stream: a length other than 0 is a lie (§8.1.1).
        if endStream, let contentLength, contentLength != 0 { throw Malformed() }
        let body: Body = endStream ? .none : contentLength != nil ? .length : .chunked
        // Written in one reserved region (``RawHeadWriter``: a head is some forty small pieces; as
        // buffer writes each would check capacity and uniqueness again). `size` covers every piece: pseudo-header
        // fields counted in it are not written, the request line and `host` take their place.
        var out = allocator.buffer(capacity: size + 64)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: size + 64) { buffer in
            var writer = RawHeadWriter(buffer)
            writer.append(text: method)
            writer.append(" ")
            writer.append(text: target)
            writer.append(" HTTP/1.1\r\n")
            if let hostValue {
                writer.append("host: ")
                writer.append(text: hostValue)
                writer.append("\r\n")
            }
            var wroteCookie = false
            for (name, value, _) in headers {
                let nameLength = name.utf8.count
                if name.utf8.first == UInt8(ascii: ":") || (nameLength == 4 && name == "host") { continue }
                if cookies > 1 && nameLength == 6 && name == "cookie" {
                    if !wroteCookie {
                        wroteCookie = true
                        writer.append("cookie: ")
                        var first = true
                        for crumb in headers["cookie"] {
                            if !first { writer.append("; ") }
                            first = false
                            writer.append(text: crumb)
                        }
                        writer.append("\r\n")
                    }
                    continue
                }
                writer.append(text: name)
                writer.append(": ")
                writer.append(text: value)
                writer.append("\r\n")
            }
            if body == .chunked { writer.append("transfer-encoding: chunked\r\n") }
            writer.append("\r\n")
            return writer.count
        }
        return H2RequestHead(bytes: out, body: body, contentLength: contentLength, isHEAD: method == "HEAD")
    }

    /// A `content-length` value (RFC 9110 §8.6): digits, or a list of the same digits repeated
    /// (which a recipient may take as the one value). Nil when it is anything else.
    static func contentLength(_ value: String) -> Int? {
        var value = value
        return value.withUTF8 { utf8 in
            var result: Int?
            for item in UnsafeRawBufferPointer(utf8).split(
                separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
            {
                guard
                    let number = FieldLines.contentLength(
                        FieldLines.trimmingOWS(UnsafeRawBufferPointer(rebasing: item))),
                    result == nil || result == number
                else { return nil }
                result = number
            }
            return result
        }
    }

    /// A trailer section's fields (§8.1): no pseudo-header field, names that are lower-case tokens,
    /// values as ``isValidValue(_:)`` wants them.
    static func isValidTrailers(_ headers: HPACKHeaders) -> Bool {
        headers.allSatisfy { name, value, _ in
            name.utf8.first != UInt8(ascii: ":") && isLowerCaseToken(name) && isValidValue(value)
        }
    }

    /// An RFC 9110 `token` without upper-case letters: an HTTP/2 field name (RFC 9113 §8.2.1).
    static func isLowerCaseToken(_ text: String) -> Bool {
        !text.isEmpty
            && allBytes(text) { byte in
                RequestHeadParser.isTokenByte(byte) && (byte < UInt8(ascii: "A") || byte > UInt8(ascii: "Z"))
            }
    }

    /// A field value HTTP/2 allows (RFC 9113 §8.2.1): no NUL, CR or LF, and no space or tab
    /// at either end.
    static func isValidValue(_ text: String) -> Bool {
        let utf8 = text.utf8
        if let first = utf8.first, first == 0x20 || first == 0x09 { return false }
        if let last = utf8.last, last == 0x20 || last == 0x09 { return false }
        return allBytes(text) { $0 != 0 && $0 != 0x0a && $0 != 0x0d }
    }

    /// RFC 9110 `token`.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && allBytes(text, RequestHeadParser.isTokenByte)
    }

    /// Non-empty, visible ASCII and UTF-8 only (no space, no control).
    static func isVisible(_ text: String) -> Bool {
        !text.isEmpty && allBytes(text) { $0 > 0x20 && $0 != 0x7f }
    }

    /// Whether every byte of `text` passes `test`: a plain loop over the string's own storage
    /// (HPACK's strings are native), not the `UTF8View`'s iterator.
    @inline(__always)
    private static func allBytes(_ text: String, _ test: (UInt8) -> Bool) -> Bool {
        let result = text.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where !test(byte) { return false }
            return true
        }
        return result ?? text.utf8.allSatisfy(test)
    }

}
