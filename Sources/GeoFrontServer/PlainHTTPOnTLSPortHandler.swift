import NIOCore

/// First on a TLS listener's connection (after a PROXY header, if any): a connection whose first
/// byte is not a TLS handshake record but looks like an HTTP method gets a plain-text
/// `400 Bad Request` saying so (as nginx does) instead of a silent close; anything else that is
/// not TLS is closed. A TLS connection passes through and the handler leaves the pipeline.
final class PlainHTTPOnTLSPortHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let handshakeRecord: UInt8 = 0x16
    private static let response = Array(
        ("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 50\r\nConnection: close\r\n\r\n"
            + "This port speaks HTTPS: send the request with TLS\n").utf8)

    private var decided = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if decided { return }  // refused: whatever else arrives before the close is dropped
        let buffer = unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        decided = true
        if first == Self.handshakeRecord {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        if first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z") {
            let bytes = context.channel.allocator.buffer(bytes: Self.response)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }
}
