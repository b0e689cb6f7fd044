import NIOCore

/// Reads RESP2 values, strictly and within bounds: every line ends in CRLF, integers are plain
/// decimals, a bulk string is followed by CRLF, and lengths, counts, nesting and the bytes a
/// value may take before it is whole are capped. Anything else is a ``RESPProtocolError``
/// (the connection is closed). An incomplete value is parsed again when more bytes arrive;
/// `maxValueBytes` bounds that work too.
struct RESPDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    struct Limits: Sendable {
        /// The longest simple string, error or length line.
        var maxLineBytes = 64 * 1024
        /// The longest bulk string.
        var maxBulkBytes = 1024 * 1024
        /// The most elements of one array.
        var maxArrayCount = 64 * 1024
        /// Arrays inside arrays, at most.
        var maxDepth = 8
        /// The most bytes one value (with all it holds) may take.
        var maxValueBytes = 4 * 1024 * 1024
    }

    let limits: Limits

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try decode(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(value))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        try decode(context: context, buffer: &buffer)
    }

    /// The next whole value, consumed from `buffer`; nil (nothing consumed) when it is not whole yet.
    func decode(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        var peek = buffer
        guard let value = try parse(&peek, depth: 0) else {
            if buffer.readableBytes > limits.maxValueBytes {
                throw RESPProtocolError("a value over \(limits.maxValueBytes) bytes")
            }
            return nil
        }
        buffer.moveReaderIndex(to: peek.readerIndex)
        return value
    }

    private func parse(_ buffer: inout ByteBuffer, depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        guard let line = try line(&buffer) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            return .simpleString(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: "-"):
            return .error(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: ":"):
            return .integer(try Self.integer(line))
        case UInt8(ascii: "$"):
            let length = try Self.integer(line)
            if length == -1 { return .bulkString(nil) }
            guard length >= 0, length <= limits.maxBulkBytes else {
                throw RESPProtocolError("a bulk string of \(length) bytes (at most \(limits.maxBulkBytes))")
            }
            guard buffer.readableBytes >= Int(length) + 2 else { return nil }
            let bytes = buffer.readSlice(length: Int(length))!
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else {
                throw RESPProtocolError("a bulk string not followed by CRLF")
            }
            return .bulkString(bytes)
        case UInt8(ascii: "*"):
            let count = try Self.integer(line)
            if count == -1 { return .array(nil) }
            guard count >= 0, count <= limits.maxArrayCount else {
                throw RESPProtocolError("an array of \(count) elements (at most \(limits.maxArrayCount))")
            }
            guard depth < limits.maxDepth else {
                throw RESPProtocolError("arrays nested more than \(limits.maxDepth) deep")
            }
            var items: [RESPValue] = []
            items.reserveCapacity(min(Int(count), 16))
            for _ in 0..<count {
                guard let item = try parse(&buffer, depth: depth + 1) else { return nil }
                items.append(item)
            }
            return .array(items)
        default:
            throw RESPProtocolError("unknown type byte \(type)")
        }
    }

    /// The bytes after the type byte up to CRLF (both consumed); nil when the CRLF has not come.
    private func line(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> [UInt8]? {
        let view = buffer.readableBytesView
        let searched = view.prefix(limits.maxLineBytes + 2)
        guard let carriageReturn = searched.firstIndex(of: 0x0D) else {
            if view.count > limits.maxLineBytes + 1 {
                throw RESPProtocolError("a line over \(limits.maxLineBytes) bytes")
            }
            return nil
        }
        let end = carriageReturn - view.startIndex
        guard end + 1 < view.count else { return nil }
        guard view[carriageReturn + 1] == 0x0A else { throw RESPProtocolError("CR not followed by LF") }
        let bytes = Array(view[(view.startIndex + 1)..<carriageReturn])
        if bytes.contains(0x0A) { throw RESPProtocolError("LF without CR inside a line") }
        buffer.moveReaderIndex(forwardBy: end + 2)
        return bytes
    }

    /// A RESP integer: an optional `-` and 1…19 digits, within Int64.
    private static func integer(_ line: [UInt8]) throws(RESPProtocolError) -> Int64 {
        var digits = line[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 19,
            digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { throw RESPProtocolError("\"\(String(decoding: line, as: UTF8.self))\" is not an integer") }
        var value: Int64 = 0
        for digit in digits {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw RESPProtocolError("an integer out of range") }
            value = sum
        }
        return negative ? -value : value
    }
}
