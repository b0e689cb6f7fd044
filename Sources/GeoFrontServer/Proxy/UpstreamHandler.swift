import NIOCore
import NIOHTTP1

/// Receives what one upstream connection delivers. Called on the connection's event loop, which
/// is also the client connection's loop.
protocol UpstreamDelegate: AnyObject {
    func upstreamReceived(_ part: HTTPClientResponsePart)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(_ writable: Bool)
    func upstreamClosed()
}

/// The last handler of an upstream connection: hands response parts to the exchange using the
/// connection, holds reads while the client cannot take more (backpressure), and tells the pool
/// when an idle connection goes away.
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler, PooledUpstreamHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    weak var delegate: (any UpstreamDelegate)?
    private var context: ChannelHandlerContext?
    private var gate = ReadGate()
    /// The connection is becoming a tunnel: HTTP parts still in flight are ignored.
    var isSwitchingProtocols = false
    /// Whether the current response allows the connection to be reused.
    private(set) var responseKeepAlive = true

    static func install(on pipeline: ChannelPipeline.SynchronousOperations) throws {
        // Encoder first, then the decoder, which watches outgoing request heads so it knows a
        // HEAD response has no body; 1xx responses are passed on.
        try pipeline.addHandler(HTTPRequestEncoder())
        try pipeline.addHandler(
            ByteToMessageHandler(
                HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .forward)))
        try pipeline.addHandler(UpstreamHandler())
    }

    func detach() {
        delegate = nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .head(let head) = part, head.status.code >= 200 {
            responseKeepAlive = head.isKeepAlive
        }
        if let delegate {
            delegate.upstreamReceived(part)
        } else if isSwitchingProtocols {
            return
        } else {
            // Bytes on an idle pooled connection: it cannot be trusted any more.
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // An idle pooled connection that closes is dropped by the pool's close callback.
        delegate?.upstreamClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Parse errors and resets: the connection is done; channelInactive reports it.
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        gate.read(context)
    }

    /// Stops reading from the upstream until ``resumeReads()`` (the client is not writable).
    func pauseReads() {
        gate.pause()
    }

    func resumeReads() {
        gate.resume(context)
    }

    /// Prepares the connection for its next exchange.
    func reset() {
        responseKeepAlive = true
        resumeReads()
    }
}
