import NIOCore

/// One end of a byte tunnel between two channels on the same event loop (a WebSocket after
/// `101 Switching Protocols`). Bytes read on one side are written to the other; a side reads only
/// while its partner can take more; when one side closes, so does the other.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    private var readPending = false

    /// Two handlers that forward to each other.
    static func pair() -> (TunnelHandler, TunnelHandler) {
        let first = TunnelHandler()
        let second = TunnelHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.forward(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            // Half-close: the other side's output ends too.
            partner?.context?.close(mode: .output, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if let partnerContext = partner?.context, !partnerContext.channel.isWritable {
            readPending = true
        } else {
            context.read()
        }
    }

    private func forward(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func resumeReading() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// Removes the pipeline's handlers of these types (those it has); succeeds once all have left.
    func removeAll(_ types: [any RemovableChannelHandler.Type]) -> EventLoopFuture<Void> {
        var removals: [EventLoopFuture<Void>] = []
        for type in types {
            if let removal = remove(type) { removals.append(removal) }
        }
        return EventLoopFuture.andAllSucceed(removals, on: eventLoop)
    }

    private func remove<Handler: RemovableChannelHandler>(_ type: Handler.Type) -> EventLoopFuture<Void>? {
        guard let context = try? self.context(handlerType: type) else { return nil }
        let promise = eventLoop.makePromise(of: Void.self)
        self.removeHandler(context: context, promise: promise)
        return promise.futureResult
    }
}
