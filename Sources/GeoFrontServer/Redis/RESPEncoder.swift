import NIOCore

/// Writes ``RESPValue``s as RESP2 bytes (commands are arrays of bulk strings).
struct RESPEncoder: MessageToByteEncoder {
    typealias OutboundIn = RESPValue

    func encode(data: RESPValue, out: inout ByteBuffer) {
        Self.write(data, to: &out)
    }

    static func write(_ value: RESPValue, to out: inout ByteBuffer) {
        switch value {
        case .simpleString(let text):
            out.writeInteger(UInt8(ascii: "+"))
            out.writeString(text)
            out.writeStaticString("\r\n")
        case .error(let text):
            out.writeInteger(UInt8(ascii: "-"))
            out.writeString(text)
            out.writeStaticString("\r\n")
        case .integer(let number):
            out.writeInteger(UInt8(ascii: ":"))
            writeDecimal(number, to: &out)
        case .bulkString(nil):
            out.writeStaticString("$-1\r\n")
        case .bulkString(var bytes?):
            out.writeInteger(UInt8(ascii: "$"))
            writeDecimal(Int64(bytes.readableBytes), to: &out)
            out.writeBuffer(&bytes)
            out.writeStaticString("\r\n")
        case .array(nil):
            out.writeStaticString("*-1\r\n")
        case .array(let items?):
            out.writeInteger(UInt8(ascii: "*"))
            writeDecimal(Int64(items.count), to: &out)
            for item in items { write(item, to: &out) }
        }
    }

    /// `number` in decimal, then CRLF.
    private static func writeDecimal(_ number: Int64, to out: inout ByteBuffer) {
        out.writeString(String(number))
        out.writeStaticString("\r\n")
    }
}
