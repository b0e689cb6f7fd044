/// A strictly parsed HTTP/1.x response head (an upstream's), as byte ranges into the buffer it
/// was parsed from. Only what framing and forwarding need is kept.
public struct ResponseHead: Sendable {
    /// How the body that follows the head is delimited (RFC 9112 §6.3).
    public enum Framing: Sendable, Equatable {
        case none
        case contentLength(Int)
        case chunked
        /// No length: the body ends when the upstream closes.
        case untilClose
    }

    public var status = 0
    public var version = RequestHead.Version.http11
    public var contentLength: Int?
    public var chunked = false
    /// `Connection: close`, or HTTP/1.0 without `keep-alive`: the connection ends after this response.
    public var closeRequested = false
    /// Tokens of `Connection` other than `close` and `keep-alive`: hop-by-hop field names.
    public var connectionNames: [RequestHead.Span] = []
    /// Offset of the status code (the status line's rest, `NNN reason CRLF`, starts here).
    public var statusStart = 0
    /// Offset of the first field line.
    public var fieldsStart = 0
    /// Bytes of the whole head including the final CRLF CRLF.
    public var length = 0

    public static let maxConnectionNames = 8

    public init() {}

    mutating func reset() {
        status = 0
        version = .http11
        contentLength = nil
        chunked = false
        closeRequested = false
        connectionNames.removeAll(keepingCapacity: true)
        statusStart = 0
        fieldsStart = 0
        length = 0
    }

    /// The body's framing; `requestWasHEAD` because a response to HEAD never has one.
    public func framing(requestWasHEAD: Bool) -> Framing {
        if requestWasHEAD || status < 200 || status == 204 || status == 304 { return .none }
        if chunked { return .chunked }
        if let contentLength { return contentLength == 0 ? .none : .contentLength(contentLength) }
        return .untilClose
    }
}

/// A strict HTTP/1.x response-head parser working in place on bytes (RFC 9112), for the proxy
/// (``ExchangeStateMachine``'s driver). Refused (``RequestHeadError/badRequest``, which the proxy treats as a broken
/// upstream): a status line that is not `HTTP/1.x NNN [reason] CRLF`; a bare CR or LF; the field
/// line faults the request parser refuses; `Content-Length` that is not plain digits, or given
/// twice with different values; `Transfer-Encoding` other than a single `chunked`, or together
/// with `Content-Length`, or in HTTP/1.0; more `Connection` names than ``ResponseHead/maxConnectionNames``.
/// ``RequestHeadError/tooLarge``: no complete head within the limit.
public enum ResponseHeadParser {
    public static func parse(_ bytes: UnsafeRawBufferPointer, limit: Int, into head: inout ResponseHead)
        throws(RequestHeadError) -> RequestHeadParser.Outcome
    {
        guard let end = RequestHeadParser.headEnd(bytes, from: 0) else {
            if bytes.count > limit { throw .tooLarge }
            return .incomplete
        }
        guard end <= limit else { throw .tooLarge }
        head.reset()
        head.length = end
        // "HTTP/1.x NNN" then an optional reason, CRLF.
        guard end >= 16 else { throw .badRequest }
        let prefix: [UInt8] = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]
        for (offset, byte) in prefix.enumerated() where bytes[offset] != byte { throw .badRequest }
        switch bytes[7] {
        case UInt8(ascii: "1"): head.version = .http11
        case UInt8(ascii: "0"): head.version = .http10
        default: throw .badRequest
        }
        guard bytes[8] == RequestHeadParser.sp else { throw .badRequest }
        head.statusStart = 9
        var status = 0
        for offset in 9..<12 {
            let byte = bytes[offset]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw .badRequest }
            status = status * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard status >= 100 else { throw .badRequest }
        head.status = status
        var index = 12
        if bytes[index] == RequestHeadParser.sp {
            index += 1
            while bytes[index] != RequestHeadParser.cr {
                let byte = bytes[index]
                guard byte == RequestHeadParser.tab || (byte >= 0x20 && byte != 0x7f) else { throw .badRequest }
                index += 1
            }
        }
        guard bytes[index] == RequestHeadParser.cr, bytes[index + 1] == RequestHeadParser.lf else {
            throw .badRequest
        }
        index += 2
        head.fieldsStart = index
        var sawTransferEncoding = false
        var keepAlive = false
        while let field = try FieldLines.next(bytes, at: &index, end: end) {
            let value = field.value
            switch field.name.count {
            case 10 where FieldLines.equals(bytes, field.name, "connection"):
                guard
                    FieldLines.connectionTokens(
                        bytes, value, close: &head.closeRequested, keepAlive: &keepAlive, names: &head.connectionNames,
                        limit: ResponseHead.maxConnectionNames)
                else { throw .badRequest }
            case 14 where FieldLines.equals(bytes, field.name, "content-length"):
                guard let number = FieldLines.contentLength(value.bytes(in: bytes)),
                    head.contentLength == nil || head.contentLength == number
                else { throw .badRequest }
                head.contentLength = number
            case 17 where FieldLines.equals(bytes, field.name, "transfer-encoding"):
                guard !sawTransferEncoding, FieldLines.equals(bytes, value, "chunked") else { throw .badRequest }
                sawTransferEncoding = true
                head.chunked = true
            default:
                break
            }
        }
        guard index == end else { throw .badRequest }
        // RFC 9112 §6.1, §6.3: chunked with a length, or in HTTP/1.0, is faulty framing.
        if head.chunked && (head.contentLength != nil || head.version == .http10) { throw .badRequest }
        if head.version == .http10 && !keepAlive { head.closeRequested = true }
        return .complete
    }
}
