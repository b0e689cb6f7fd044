import NIOCore
import NIOEmbedded
import Testing

@testable import GeoFrontServer

/// ``H2FlushBatcher`` holds small writes and flushes until the read completes or the loop turn
/// ends, passes them on in order with the large ones, and completes their promises.
@Suite struct H2FlushBatcherTests {
    static func bytes(_ count: Int, _ value: UInt8) -> IOData {
        .byteBuffer(ByteBuffer(repeating: value, count: count))
    }

    /// Everything the channel wrote, one string of byte values per write (`"a3 b1"`: three
    /// bytes of value `a`, then one of `b`, in one write).
    static func writes(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let data = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { continue }
            var runs: [(UInt8, Int)] = []
            for byte in buffer.readableBytesView {
                if let last = runs.last, last.0 == byte { runs[runs.count - 1].1 += 1 } else { runs.append((byte, 1)) }
            }
            out.append(runs.map { "\(Character(UnicodeScalar($0.0)))\($0.1)" }.joined(separator: " "))
        }
        return out
    }

    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: H2FlushBatcher())
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test func aFlushOutsideAReadWaitsForTheEndOfTheTurnAndSmallWritesGoAsOne() throws {
        let channel = try Self.channel()
        let first = channel.eventLoop.makePromise(of: Void.self)
        let second = channel.eventLoop.makePromise(of: Void.self)
        channel.write(Self.bytes(9, UInt8(ascii: "a")), promise: first)
        channel.write(Self.bytes(3, UInt8(ascii: "b")), promise: second)
        channel.flush()
        channel.write(Self.bytes(2, UInt8(ascii: "c")), promise: nil)
        channel.flush()
        #expect(try Self.writes(channel).isEmpty)
        channel.embeddedEventLoop.run()
        #expect(try Self.writes(channel) == ["a9 b3 c2"])
        try first.futureResult.wait()
        try second.futureResult.wait()
        _ = try? channel.finish()
    }

    @Test func aLargeWritePassesInOrderAfterTheHeldOnes() throws {
        let channel = try Self.channel()
        channel.write(Self.bytes(9, UInt8(ascii: "a")), promise: nil)
        channel.write(Self.bytes(H2FlushBatcher.smallWrite + 1, UInt8(ascii: "b")), promise: nil)
        channel.write(Self.bytes(4, UInt8(ascii: "c")), promise: nil)
        channel.flush()
        channel.embeddedEventLoop.run()
        #expect(try Self.writes(channel) == ["a9", "b\(H2FlushBatcher.smallWrite + 1)", "c4"])
        _ = try? channel.finish()
    }

    @Test func heldWritesStayUnderARecord() throws {
        let channel = try Self.channel()
        for _ in 0..<5 { channel.write(Self.bytes(4000, UInt8(ascii: "a")), promise: nil) }
        channel.flush()
        channel.embeddedEventLoop.run()
        #expect(try Self.writes(channel) == ["a16000", "a4000"])
        _ = try? channel.finish()
    }

    @Test func aFlushDuringAReadHappensWhenTheReadCompletes() throws {
        let channel = try Self.channel()
        channel.pipeline.fireChannelRead(ByteBuffer(string: "x"))  // a read, not yet complete
        channel.write(Self.bytes(5, UInt8(ascii: "a")), promise: nil)
        channel.flush()
        channel.embeddedEventLoop.run()
        #expect(try Self.writes(channel).isEmpty)
        channel.pipeline.fireChannelReadComplete()
        #expect(try Self.writes(channel) == ["a5"])
        _ = try? channel.finish()
    }

    @Test func aCloseWritesWhatIsHeldAndFlushesWhenAFlushWasAskedFor() throws {
        let channel = try Self.channel()
        channel.write(Self.bytes(5, UInt8(ascii: "a")), promise: nil)
        channel.flush()
        _ = channel.close()
        #expect(try Self.writes(channel) == ["a5"])
    }
}
