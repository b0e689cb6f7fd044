import NIOCore

/// Head bytes put straight into a buffer's writable memory, inside one
/// `ByteBuffer.writeWithUnsafeMutableBytes(minimumWritableBytes:)`: a run of small pieces
/// (a field name, a number, a CRLF) costs one call into NIOCore instead of one per piece, each
/// with its own capacity, uniqueness and exclusivity checks (perf: 30–40 ns a write). The caller
/// reserves an upper bound of what it writes; going past it traps.
struct RawHeadWriter {
    private let base: UnsafeMutableRawBufferPointer
    /// Bytes written so far (what the write closure returns).
    private(set) var count = 0

    init(_ base: UnsafeMutableRawBufferPointer) {
        self.base = base
    }

    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        precondition(count + bytes.count <= base.count, "a head write past its reserved bound")
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (base.baseAddress! + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// Labelled: an unlabelled `String` overload would take every literal (`"\r\n"`) from the
    /// `StaticString` one, as the default literal type.
    mutating func append(text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The end of a response head on an HTTP/1.x connection: `Connection: close` when it closes
    /// after this answer, `Connection: keep-alive` to an HTTP/1.0 client (whose connections close
    /// by default) when it does not, then the empty line.
    mutating func appendHeadEnd(close: Bool, http10: Bool) {
        if close {
            append("Connection: close\r\n")
        } else if http10 {
            append("Connection: keep-alive\r\n")
        }
        append("\r\n")
    }

    mutating func append(byte: UInt8) {
        precondition(count < base.count, "a head write past its reserved bound")
        base[count] = byte
        count += 1
    }

    /// `value` in decimal (at most 20 bytes).
    mutating func appendDecimal(_ value: Int) {
        if value < 0 {
            append(byte: UInt8(ascii: "-"))
            // -Int.min does not fit: its magnitude as unsigned.
            appendDecimal(UInt(bitPattern: 0 &- value))
            return
        }
        appendDecimal(UInt(value))
    }

    private mutating func appendDecimal(_ value: UInt) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        precondition(count + digits <= base.count, "a head write past its reserved bound")
        var remaining = value
        for index in stride(from: count + digits - 1, through: count, by: -1) {
            base[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        count += digits
    }
}
