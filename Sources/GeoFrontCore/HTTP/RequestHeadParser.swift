import GeoIP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A strict HTTP/1.1 request-head parser working in place on bytes (RFC 9112). It is the fast
/// path's front end and never more lenient than llhttp: anything ambiguous is refused.
///
/// Refused with 400: a request line that is not `method SP target SP HTTP/1.x CRLF`; a target with
/// spaces, controls or non-ASCII bytes; a bare CR or LF anywhere; whitespace before a header's
/// colon; obs-fold; control characters in a field value; `Content-Length` that is not plain
/// digits, or given twice; `Transfer-Encoding` other than a single `chunked`, or together with
/// `Content-Length`, or in HTTP/1.0; HTTP/1.1 without exactly one `Host`.
/// Refused with 431: no complete head within the size limit.
public enum RequestHeadParser {
    public enum Outcome: Sendable, Equatable {
        /// More bytes are needed.
        case incomplete
        /// `head` is filled in; the head is `head.length` bytes long.
        case complete
    }

    /// Parses the head at the start of `bytes` into `head`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, limit: Int, into head: inout RequestHead)
        throws(RequestHeadError) -> Outcome
    {
        // Up to two empty lines before a request line are ignored (RFC 9112 §2.2).
        var start = 0
        while start + 1 < bytes.count, start < 4, bytes[start] == cr, bytes[start + 1] == lf { start += 2 }
        guard let end = headEnd(bytes, from: start) else {
            if bytes.count > limit { throw .tooLarge }
            // A bare LF can be refused at once; everything else waits for the rest.
            return .incomplete
        }
        guard end <= limit else { throw .tooLarge }
        head.reset()
        head.length = end
        var index = try requestLine(bytes, from: start, into: &head)
        var hosts = 0
        var contentLength: Int?
        var chunked = false
        var sawTransferEncoding = false
        var keepAlive = false
        while let field = try FieldLines.next(bytes, at: &index, end: end) {
            let name = UnsafeRawBufferPointer(rebasing: bytes[field.name.start..<(field.name.start + field.name.count)])
            let value = field.value
            switch name.count {
            case 4 where equalsLowercased(name, "host"):
                hosts += 1
                if head.host == nil { head.host = value }
            case 9 where equalsLowercased(name, "forwarded"):
                guard head.forwarded.count < RequestHead.maxForwardingLines else { throw .badRequest }
                head.forwarded.append(value)
            case 10 where equalsLowercased(name, "connection"):
                if !FieldLines.connectionTokens(
                    bytes, value, close: &head.closeRequested, keepAlive: &keepAlive, names: &head.connectionNames,
                    limit: RequestHead.maxConnectionNames)
                {
                    head.connectionNamesOverflow = true
                }
            case 6 where equalsLowercased(name, "expect"):
                head.hasExpect = true
            case 12 where equalsLowercased(name, "content-type"):
                head.isGRPC = isGRPCMediaType(
                    UnsafeRawBufferPointer(rebasing: bytes[value.start..<(value.start + value.count)]))
            case 14 where equalsLowercased(name, "content-length"):
                guard contentLength == nil, let number = FieldLines.contentLength(value.bytes(in: bytes)) else {
                    throw .badRequest
                }
                contentLength = number
            case 15 where equalsLowercased(name, "x-forwarded-for"):
                guard head.forwardedFor.count < RequestHead.maxForwardingLines else { throw .badRequest }
                head.forwardedFor.append(value)
            case 17 where equalsLowercased(name, "transfer-encoding"):
                guard !sawTransferEncoding,
                    equalsLowercased(
                        UnsafeRawBufferPointer(rebasing: bytes[value.start..<(value.start + value.count)]), "chunked")
                else { throw .badRequest }
                sawTransferEncoding = true
                chunked = true
            default:
                break
            }
        }
        guard index == end else { throw .badRequest }
        if head.version == .http11 && hosts != 1 { throw .badRequest }
        if chunked {
            guard contentLength == nil, head.version == .http11 else { throw .badRequest }
            head.body = .chunked
        } else if let contentLength, contentLength > 0 {
            head.body = .contentLength(contentLength)
        }
        if head.version == .http10 && !keepAlive { head.closeRequested = true }
        return .complete
    }

    /// `application/grpc`, `application/grpc+proto`, `application/grpc; …` (any case).
    static func isGRPCMediaType(_ value: UnsafeRawBufferPointer) -> Bool {
        let type = "application/grpc" as StaticString
        let length = type.utf8CodeUnitCount
        guard value.count >= length, equalsLowercased(UnsafeRawBufferPointer(rebasing: value[0..<length]), type)
        else { return false }
        return value.count == length || value[length] == UInt8(ascii: "+") || value[length] == UInt8(ascii: ";")
    }

    /// Offset just past the first CRLF CRLF, or nil when there is none yet (bare CRs and LFs
    /// are refused as the lines are read).
    static func headEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var index = start
        let count = bytes.count
        while index + 3 < count {
            // From CR to CR (a head has one per line) with memchr's word-at-a-time scan, rather
            // than byte by byte.
            guard let found = memchr(base + index, Int32(cr), count - 3 - index) else { return nil }
            index = base.distance(to: UnsafeRawPointer(found))
            if bytes[index + 1] == lf && bytes[index + 2] == cr && bytes[index + 3] == lf { return index + 4 }
            index += 1
        }
        return nil
    }

    private static func requestLine(_ bytes: UnsafeRawBufferPointer, from start: Int, into head: inout RequestHead)
        throws(RequestHeadError) -> Int
    {
        var index = start
        while isTokenByte(bytes[index]) { index += 1 }
        guard index > start, bytes[index] == sp else { throw .badRequest }
        head.method = RequestHead.Span(start: start, count: index - start)
        head.isConnect =
            index - start == 7 && equalsLowercased(UnsafeRawBufferPointer(rebasing: bytes[start..<index]), "connect")
            && bytes[start] == UInt8(ascii: "C")
        index += 1
        let targetStart = index
        while bytes[index] > 0x20 && bytes[index] < 0x7f { index += 1 }
        guard index > targetStart, bytes[index] == sp else { throw .badRequest }
        head.target = RequestHead.Span(start: targetStart, count: index - targetStart)
        index += 1
        // "HTTP/1.1" or "HTTP/1.0", then CRLF.
        let version: [UInt8] = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]
        for (offset, byte) in version.enumerated() where bytes[index + offset] != byte { throw .badRequest }
        switch bytes[index + 7] {
        case UInt8(ascii: "1"): head.version = .http11
        case UInt8(ascii: "0"): head.version = .http10
        default: throw .badRequest
        }
        guard bytes[index + 8] == cr, bytes[index + 9] == lf else { throw .badRequest }
        return index + 10
    }

    /// Compares ASCII case-insensitively with a lower-case literal.
    @inline(__always)
    static func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for index in 0..<bytes.count {
            var byte = bytes[index]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte += 32 }
            if byte != expected[index] { return false }
        }
        return true
    }

    /// RFC 9110 tchar: ALPHA, DIGIT and "!#$%&'*+-.^_`|~". Two 64-bit masks (bytes 0–63, 64–127)
    /// rather than a table: a static array costs a lazy-initialisation check on every byte.
    @inlinable @inline(__always)
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        if byte < 64 { return (0x03ff_6cfa_0000_0000 as UInt64) >> UInt64(byte) & 1 == 1 }
        if byte < 128 { return (0x57ff_ffff_c7ff_fffe as UInt64) >> UInt64(byte - 64) & 1 == 1 }
        return false
    }

    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let sp = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
}

/// Reads past a chunked body (RFC 9112 §7.1) without keeping it, strictly: hex sizes
/// (at most 15 digits), extensions of token characters only, CRLF after every part, trailer
/// lines without controls. Anything else is an error and the connection must close.
public struct ChunkedBodySkipper: Sendable {
    private enum State: Sendable {
        case size(digits: Int, value: Int)
        case sizeExtension(value: Int)
        case sizeLF(value: Int)
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerStart
        case trailer
        case trailerLF
        case finalLF
    }

    public enum Outcome: Sendable, Equatable {
        case needMore
        /// The body ended after this many bytes of the input.
        case done(consumed: Int)
    }

    private var state = State.size(digits: 0, value: 0)

    public init() {}

    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(RequestHeadError) -> Outcome {
        try consume(bytes) { _ in }
    }

    /// As ``consume(_:)``, also telling `data` where each run of chunk data lies in `bytes` (to
    /// take the framing off for a client that cannot read it).
    @inline(__always)
    public mutating func consume(_ bytes: UnsafeRawBufferPointer, data: (Range<Int>) -> Void)
        throws(RequestHeadError) -> Outcome
    {
        try consume(bytes, data: data, trailer: { _ in })
    }

    /// As ``consume(_:data:)``, also telling `trailer` where the trailer section lies in `bytes`
    /// (its field lines and the empty line that ends it, in one or more runs across calls), for a
    /// client that gets trailers as fields of their own (HTTP/2).
    @inline(__always)
    public mutating func consume(
        _ bytes: UnsafeRawBufferPointer, data: (Range<Int>) -> Void, trailer: (Range<Int>) -> Void
    ) throws(RequestHeadError) -> Outcome {
        var index = 0
        let count = bytes.count
        var trailerStart: Int?
        switch state {
        case .trailerStart, .trailer, .trailerLF, .finalLF: trailerStart = 0
        default: break
        }
        defer { if let trailerStart, trailerStart < index { trailer(trailerStart..<index) } }
        while index < count {
            let byte = bytes[index]
            switch state {
            case .size(let digits, let value):
                if let nibble = IPAddress.hexValue(byte) {
                    guard digits < 15 else { throw .badRequest }
                    state = .size(digits: digits + 1, value: value << 4 | Int(nibble))
                } else if digits > 0 && byte == RequestHeadParser.cr {
                    state = .sizeLF(value: value)
                } else if digits > 0 && byte == UInt8(ascii: ";") {
                    state = .sizeExtension(value: value)
                } else {
                    throw .badRequest
                }
                index += 1
            case .sizeExtension(let value):
                if byte == RequestHeadParser.cr {
                    state = .sizeLF(value: value)
                } else if !(RequestHeadParser.isTokenByte(byte) || byte == UInt8(ascii: "=")
                    || byte == UInt8(ascii: ";"))
                {
                    throw .badRequest
                }
                index += 1
            case .sizeLF(let value):
                guard byte == RequestHeadParser.lf else { throw .badRequest }
                state = value == 0 ? .trailerStart : .data(remaining: value)
                index += 1
                if value == 0 { trailerStart = index }
            case .data(let remaining):
                let take = min(remaining, count - index)
                data(index..<(index + take))
                index += take
                state = remaining - take == 0 ? .dataCR : .data(remaining: remaining - take)
            case .dataCR:
                guard byte == RequestHeadParser.cr else { throw .badRequest }
                state = .dataLF
                index += 1
            case .dataLF:
                guard byte == RequestHeadParser.lf else { throw .badRequest }
                state = .size(digits: 0, value: 0)
                index += 1
            case .trailerStart:
                if byte == RequestHeadParser.cr {
                    state = .finalLF
                } else if RequestHeadParser.isTokenByte(byte) {
                    state = .trailer
                } else {
                    throw .badRequest
                }
                index += 1
            case .trailer:
                if byte == RequestHeadParser.cr {
                    state = .trailerLF
                } else if !(byte == RequestHeadParser.tab || (byte >= 0x20 && byte != 0x7f)) {
                    throw .badRequest
                }
                index += 1
            case .trailerLF:
                guard byte == RequestHeadParser.lf else { throw .badRequest }
                state = .trailerStart
                index += 1
            case .finalLF:
                guard byte == RequestHeadParser.lf else { throw .badRequest }
                index += 1
                return .done(consumed: index)
            }
        }
        return .needMore
    }
}
