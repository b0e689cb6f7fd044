import NIOCore
import NIOHPACK

/// An HTTP/2 request's header block written as the HTTP/1.1 request head the front end parses
/// (RFC 9113 §8.3.1): `:method :path HTTP/1.1`, `Host` from `:authority` (else the `host`
/// field), the other fields as they came, the `cookie` crumbs joined into one field (§8.2.3), and
/// the body's framing — `Content-Length` when the block ended the stream or gave one, else
/// `Transfer-Encoding: chunked`.
///
/// NIOHTTP2 has already refused (stream error) what RFC 9113 §8.1.1, §8.2 and §8.3 call
/// malformed: missing, repeated, unknown or misplaced pseudo-header fields, upper-case or
/// invalid names, CR, LF or NUL in values, connection-specific fields, `te` other than
/// `trailers`, a `content-length` the DATA frames do not add up to. What HTTP/1.1 syntax needs
/// on top (a method that is a token, an origin-form target, an authority without userinfo, and
/// no spaces or controls in either) is checked here.
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
    let isHEAD: Bool

    struct Malformed: Error {}

    static func make(_ headers: HPACKHeaders, endStream: Bool, allocator: ByteBufferAllocator) throws(Malformed)
        -> H2RequestHead
    {
        var method: String?
        var path: String?
        var authority: String?
        var host: String?
        var hasLength = false
        var cookies = 0
        var size = 32
        for (name, value, _) in headers {
            size += name.utf8.count + value.utf8.count + 4
            switch name {
            case ":method": method = value
            case ":path": path = value
            case ":authority": authority = value
            case "host": host = value
            case "content-length": hasLength = true
            case "cookie": cookies += 1
            default: break
            }
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
            guard Self.isVisible(hostValue), !hostValue.utf8.contains(UInt8(ascii: "@")) else { throw Malformed() }
        }

        var out = allocator.buffer(capacity: size)
        out.writeString(method)
        out.writeInteger(UInt8(ascii: " "))
        out.writeString(target)
        out.writeStaticString(" HTTP/1.1\r\n")
        if let hostValue {
            out.writeStaticString("host: ")
            out.writeString(hostValue)
            out.writeStaticString("\r\n")
        }
        var wroteCookie = false
        for (name, value, _) in headers {
            if name.utf8.first == UInt8(ascii: ":") || name == "host" { continue }
            if name == "cookie" && cookies > 1 {
                if !wroteCookie {
                    wroteCookie = true
                    out.writeStaticString("cookie: ")
                    var first = true
                    for crumb in headers["cookie"] {
                        if !first { out.writeStaticString("; ") }
                        first = false
                        out.writeString(crumb)
                    }
                    out.writeStaticString("\r\n")
                }
                continue
            }
            out.writeString(name)
            out.writeStaticString(": ")
            out.writeString(value)
            out.writeStaticString("\r\n")
        }
        let body: Body
        if endStream {
            body = .none
        } else if hasLength {
            body = .length
        } else {
            body = .chunked
            out.writeStaticString("transfer-encoding: chunked\r\n")
        }
        out.writeStaticString("\r\n")
        return H2RequestHead(bytes: out, body: body, isHEAD: method == "HEAD")
    }

    /// RFC 9110 `token`.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"):
                    return true
                default:
                    return "!#$%&'*+-.^_`|~".utf8.contains(byte)
                }
            }
    }

    /// Non-empty, visible ASCII and UTF-8 only (no space, no control).
    static func isVisible(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7f }
    }
}
