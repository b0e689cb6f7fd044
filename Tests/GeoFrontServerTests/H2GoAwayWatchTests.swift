import NIOCore
import NIOEmbedded
import Testing

@testable import GeoFrontServer

/// ``H2GoAwayWatch`` follows frame boundaries in the bytes NIOHTTP2 writes, however they are
/// split into writes: a GOAWAY is seen where a frame starts, never inside another frame's payload.
@Suite struct H2GoAwayWatchTests {
    /// A frame: 9-byte header (length, type, flags, stream) and payload.
    static func frame(type: UInt8, stream: UInt32 = 0, _ payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        var bytes: [UInt8] = [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, 0]
        bytes += withUnsafeBytes(of: stream.bigEndian, Array.init)
        return bytes + payload
    }

    static func goAway(code: UInt32) -> [UInt8] {
        frame(
            type: 0x7,
            withUnsafeBytes(of: UInt32(5).bigEndian, Array.init) + withUnsafeBytes(of: code.bigEndian, Array.init))
    }

    /// Writes `bytes` cut at `cuts`, then lets the loop run.
    static func write(_ bytes: [UInt8], cuts: [Int], to channel: EmbeddedChannel) throws {
        var start = 0
        for end in cuts + [bytes.count] where end > start {
            let piece = ByteBuffer(bytes: bytes[start..<end])
            try channel.writeAndFlush(IOData.byteBuffer(piece)).wait()
            start = end
        }
        channel.embeddedEventLoop.run()
    }

    @Test func anErrorGoAwaySplitAcrossWritesClosesTheConnection() throws {
        let metrics = GeoFrontMetrics()
        let channel = EmbeddedChannel(handler: H2GoAwayWatch(metrics: metrics, grace: .seconds(100)))
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        // A DATA frame whose payload looks like a GOAWAY ENHANCE_YOUR_CALM, split everywhere.
        let data = Self.frame(type: 0x0, stream: 1, Self.goAway(code: 11))
        try Self.write(data, cuts: [3, 10, 20], to: channel)
        #expect(channel.isActive)
        // Settings, then GOAWAY PROTOCOL_ERROR with its header and error code split.
        let rest = Self.frame(type: 0x4, []) + Self.goAway(code: 1)
        try Self.write(rest, cuts: [9, 13, 20], to: channel)
        #expect(!channel.isActive)
        #expect(metrics.exposition().contains(#"geofront_h2_goaway_total{reason="protocol_error"} 1"#))
        _ = try? channel.finish()
    }

    @Test func aGracefulGoAwayLeavesTheConnectionOpen() throws {
        let metrics = GeoFrontMetrics()
        let watch = H2GoAwayWatch(metrics: metrics, grace: .seconds(100))
        let channel = EmbeddedChannel(handler: watch)
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        watch.note(reason: "shutdown")
        try Self.write(Self.goAway(code: 0), cuts: [], to: channel)
        #expect(channel.isActive)
        // The grace is over: closed.
        channel.embeddedEventLoop.advanceTime(by: .seconds(100))
        #expect(!channel.isActive)
        #expect(metrics.exposition().contains(#"geofront_h2_goaway_total{reason="shutdown"} 1"#))
        _ = try? channel.finish()
    }
}
