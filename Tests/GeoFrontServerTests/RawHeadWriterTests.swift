import NIOCore
import Testing

@testable import GeoFrontServer

/// The raw head writer's output is what the ByteBuffer writes it stands for would have made.
@Suite struct RawHeadWriterTests {
    @Test func piecesAndDecimalsComeOutAsText() {
        let values = [0, 7, 9, 10, 99, 100, 12_345, -1, -10, 2_147_483_648, Int.max, Int.min]
        var expected = "Age: "
        for value in values { expected += "\(value)," }
        expected += "\r\n"
        let bytes = [UInt8](unsafeUninitializedCapacity: 512) { buffer, count in
            var writer = RawHeadWriter(UnsafeMutableRawBufferPointer(buffer))
            writer.append("Age: ")
            for value in values {
                writer.appendDecimal(value)
                writer.append(byte: UInt8(ascii: ","))
            }
            writer.append(Array("\r\n".utf8))
            count = writer.count
        }
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
    }

    /// ``CachedAnswers/writeDecimal(_:into:)`` writes through the same digits.
    @Test func decimalsIntoABuffer() {
        for value in [0, 9, 10, 1024, -5, Int.max, Int.min] {
            var out = ByteBuffer()
            CachedAnswers.writeDecimal(value, into: &out)
            #expect(out.readString(length: out.readableBytes) == "\(value)")
        }
    }
}
