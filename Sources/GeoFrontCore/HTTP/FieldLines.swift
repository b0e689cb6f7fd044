/// One field line of a strictly parsed head, as byte ranges.
public struct FieldLine: Sendable {
    public var name: RequestHead.Span
    /// The value without its surrounding whitespace.
    public var value: RequestHead.Span
    /// The whole line including its CRLF.
    public var line: RequestHead.Span
}

/// Reads the field lines of a request or response head in place (RFC 9112 §5), as strictly as
/// the request parser always did: a token right up to the colon, no control characters in the
/// value, CRLF endings, no obs-fold.
public enum FieldLines {
    /// The field line starting at `index`, with `index` moved past it; nil at the empty line that
    /// ends the head (`index` moved past its CRLF). `bytes` must contain the head's final CRLF CRLF.
    @inline(__always)
    public static func next(_ bytes: UnsafeRawBufferPointer, at index: inout Int, end: Int)
        throws(RequestHeadError) -> FieldLine?
    {
        if bytes[index] == RequestHeadParser.cr {
            index += 2
            return nil
        }
        let lineStart = index
        while index < end, RequestHeadParser.isTokenByte(bytes[index]) { index += 1 }
        guard index > lineStart, index < end, bytes[index] == UInt8(ascii: ":") else { throw .badRequest }
        let name = RequestHead.Span(start: lineStart, count: index - lineStart)
        index += 1
        // Value: OWS, then visible bytes, spaces and tabs (no controls), OWS, CRLF.
        while bytes[index] == RequestHeadParser.sp || bytes[index] == RequestHeadParser.tab { index += 1 }
        let valueStart = index
        var valueEnd = index
        while true {
            let byte = bytes[index]
            if byte == RequestHeadParser.cr { break }
            guard byte == RequestHeadParser.tab || (byte >= 0x20 && byte != 0x7f) else { throw .badRequest }
            index += 1
            if byte != RequestHeadParser.sp && byte != RequestHeadParser.tab { valueEnd = index }
        }
        guard bytes[index + 1] == RequestHeadParser.lf else { throw .badRequest }
        index += 2
        // obs-fold: a continuation line
        if bytes[index] == RequestHeadParser.sp || bytes[index] == RequestHeadParser.tab { throw .badRequest }
        return FieldLine(
            name: name, value: RequestHead.Span(start: valueStart, count: valueEnd - valueStart),
            line: RequestHead.Span(start: lineStart, count: index - lineStart))
    }

    /// Whether `span` of `bytes` equals a lower-case literal, ignoring ASCII case.
    @inline(__always)
    public static func equals(_ bytes: UnsafeRawBufferPointer, _ span: RequestHead.Span, _ literal: StaticString)
        -> Bool
    {
        span.count == literal.utf8CodeUnitCount
            && RequestHeadParser.equalsLowercased(
                UnsafeRawBufferPointer(rebasing: bytes[span.start..<(span.start + span.count)]), literal)
    }

    /// Whether `span` of `bytes` equals lower-case `name`, ignoring ASCII case.
    public static func equals(_ bytes: UnsafeRawBufferPointer, _ span: RequestHead.Span, lowercased name: [UInt8])
        -> Bool
    {
        guard span.count == name.count else { return false }
        for offset in 0..<span.count {
            var byte = bytes[span.start + offset]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte += 32 }
            if byte != name[offset] { return false }
        }
        return true
    }

    /// Whether two spans name the same field, ignoring ASCII case.
    public static func sameName(_ bytes: UnsafeRawBufferPointer, _ a: RequestHead.Span, _ b: RequestHead.Span) -> Bool {
        guard a.count == b.count else { return false }
        for offset in 0..<a.count {
            var x = bytes[a.start + offset]
            var y = bytes[b.start + offset]
            if x >= UInt8(ascii: "A") && x <= UInt8(ascii: "Z") { x += 32 }
            if y >= UInt8(ascii: "A") && y <= UInt8(ascii: "Z") { y += 32 }
            if x != y { return false }
        }
        return true
    }

    /// The comma-separated tokens of a `Connection` value: `close` and `keep-alive` reported,
    /// any other token (a field name, or `upgrade`) appended to `names` while there is room.
    /// Returns false when `names` overflowed `limit`.
    static func connectionTokens(
        _ bytes: UnsafeRawBufferPointer, _ value: RequestHead.Span, close: inout Bool, keepAlive: inout Bool,
        names: inout [RequestHead.Span], limit: Int
    ) -> Bool {
        var index = value.start
        let end = value.start + value.count
        var fits = true
        while index < end {
            while index < end
                && (bytes[index] == RequestHeadParser.sp || bytes[index] == RequestHeadParser.tab
                    || bytes[index] == UInt8(ascii: ","))
            {
                index += 1
            }
            let tokenStart = index
            while index < end && bytes[index] != UInt8(ascii: ",") && bytes[index] != RequestHeadParser.sp
                && bytes[index] != RequestHeadParser.tab
            {
                index += 1
            }
            guard index > tokenStart else { continue }
            let token = UnsafeRawBufferPointer(rebasing: bytes[tokenStart..<index])
            if token.count == 5 && RequestHeadParser.equalsLowercased(token, "close") {
                close = true
            } else if token.count == 10 && RequestHeadParser.equalsLowercased(token, "keep-alive") {
                keepAlive = true
            } else if names.count < limit {
                names.append(RequestHead.Span(start: tokenStart, count: index - tokenStart))
            } else {
                fits = false
            }
        }
        return fits
    }

    /// A `Content-Length` value's number (RFC 9110 §8.6): plain digits, 1 to 18 of them; nil for
    /// anything else (a list, a sign, spaces).
    @inline(__always)
    public static func contentLength(_ digits: UnsafeRawBufferPointer) -> Int? {
        guard digits.count > 0, digits.count <= 18 else { return nil }
        var number = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            number = number * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return number
    }

    /// `bytes` without optional whitespace (space and tab) at either end.
    public static func trimmingOWS(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        var end = bytes.count
        while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
        while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }
}
