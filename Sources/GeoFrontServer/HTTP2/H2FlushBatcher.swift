import NIOCore

/// Sits under NIOHTTP2's handler on an HTTP/2 connection and turns the flushes its streams ask
/// for outside the connection's own reads into one per event loop turn.
///
/// During a read from the client NIOHTTP2 already holds its streams' flushes until the read
/// completes. A proxied stream's response, though, is written when its upstream connection is
/// read, and every such stream flushed the whole connection on its own: a TLS record and a
/// `write(2)` per response. Here a flush outside a read is only noted, and done once, after the
/// loop has served every connection that was ready (a task queued with `execute`), so the
/// responses of all the upstreams read in one turn leave in one write. A flush during a read is
/// done when the read completes; a close first flushes what is held.
final class H2FlushBatcher: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// A flush was asked for and not yet done.
    private var flushPending = false
    /// The end-of-turn flush is queued.
    private var queued = false
    /// Between a read from the client and its completion.
    private var reading = false
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        reading = false
        flushNow()
    }

    func flush(context: ChannelHandlerContext) {
        flushPending = true
        if reading || queued { return }
        queued = true
        context.eventLoop.assumeIsolated().execute { [self] in
            queued = false
            flushNow()
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        flushNow()
        context.close(mode: mode, promise: promise)
    }

    private func flushNow() {
        guard flushPending, let context else { return }
        flushPending = false
        context.flush()
    }
}
