import NIOCore

/// Receives what one byte-level upstream connection delivers, on its event loop (which is also
/// the client connection's).
protocol ByteUpstreamDelegate: AnyObject {
    func upstreamRead(_ bytes: ByteBuffer)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(_ writable: Bool)
    func upstreamClosed()
}

/// The only handler of a fast-path upstream connection (after TLS, for HTTPS upstreams): bytes
/// to the exchange using the connection, reads held while the client cannot take more, and an
/// idle pooled connection that says anything is closed (it cannot be trusted any more).
final class ByteUpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler, PooledUpstreamHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    weak var delegate: (any ByteUpstreamDelegate)?
    private var context: ChannelHandlerContext?
    private var gate = ReadGate()

    static func install(on pipeline: ChannelPipeline.SynchronousOperations) throws {
        try pipeline.addHandler(ByteUpstreamHandler())
    }

    func reset() {
        resumeReads()
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
        if let delegate {
            delegate.upstreamRead(unwrapInboundIn(data))
        } else {
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        delegate?.upstreamClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Resets and TLS errors: the connection is done; channelInactive reports it.
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
}
