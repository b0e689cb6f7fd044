import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GeoFrontServer

/// The general pipeline's parser errors: a 400 for a malformed request on an open connection;
/// nothing written once the connection has gone (a graceful shutdown closed it with half a
/// request in the decoder: NIO's pipeline handler must not be written to after quiescing, and
/// in debug builds it stops the process if it is).
@Suite struct RequestErrorHandlerTests {
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
        try channel.pipeline.syncOperations.addHandler(RequestErrorHandler())
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.9", port: 1)).wait()
        return channel
    }

    @Test func malformedRequestGets400() throws {
        let channel = try Self.channel()
        _ = try? channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"))
        var written = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += String(buffer: buffer) }
        #expect(written.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(written)")
        #expect(!channel.isActive)
    }

    @Test func halfARequestLeftAtAQuiescingCloseWritesNothing() throws {
        let channel = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "GET /p HTTP/1.1\r\nHo"))
        // Graceful shutdown: nothing in flight, so the pipeline handler closes the connection; the
        // decoder then finds the unfinished head among its leftovers.
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }
}
