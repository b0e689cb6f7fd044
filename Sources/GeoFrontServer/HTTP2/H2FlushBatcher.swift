import NIOCore

/// Sits under NIOHTTP2's handler on an HTTP/2 connection and turns the flushes its streams ask
/// for outside the connection's own reads into one per event loop turn, and the small writes
/// before a flush into one.
///
/// During a read from the client NIOHTTP2 already holds its streams' flushes until the read
/// completes. A proxied stream's response, though, is written when its upstream connection is
/// read, and every such stream flushed the whole connection on its own: a TLS record and a
/// `write(2)` per response. Here a flush outside a read is only noted, and done once, after the
/// loop has served every connection that was ready (a task queued with `execute`), so the
/// responses of all the upstreams read in one turn leave in one write. A flush during a read is
/// done when the read completes; a close first flushes what is held.
///
/// NIOHTTP2 writes every frame (and a DATA frame's payload) on its own, and TLS seals every
/// write into a record of its own: three or so per stream. Writes of at most ``smallWrite``
/// bytes are copied into one buffer (up to a TLS record's worth) and passed on as one write, in
/// order with the larger ones, which pass on as they are; the write promises complete with it.
final class H2FlushBatcher: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// A write at most this long is copied into ``held`` rather than passed on.
    static let smallWrite = 4096
    /// ``held`` is passed on before it grows past this (a TLS record's plaintext).
    static let heldLimit = 16_384

    /// A flush was asked for and not yet done.
    private var flushPending = false
    /// The end-of-turn flush is queued.
    private var queued = false
    /// Between a read from the client and its completion.
    private var reading = false
    private var context: ChannelHandlerContext?
    /// Small writes not yet passed on, and the promise of the first one that had a promise (the
    /// others' are cascaded from it).
    private var held: ByteBuffer?
    private var heldPromise: EventLoopPromise<Void>?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        held = nil
        heldPromise?.fail(ChannelError.ioOnClosedChannel)
        heldPromise = nil
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

    func channelInactive(context: ChannelHandlerContext) {
        // What is held goes on, to fail with the connection's writes.
        passHeld(context: context)
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(var buffer) = unwrapOutboundIn(data), buffer.readableBytes <= Self.smallWrite else {
            passHeld(context: context)
            context.write(data, promise: promise)
            return
        }
        if let held, held.readableBytes + buffer.readableBytes > Self.heldLimit { passHeld(context: context) }
        if held == nil { held = context.channel.allocator.buffer(capacity: 2048) }
        held!.writeBuffer(&buffer)
        if let promise {
            if let heldPromise {
                heldPromise.futureResult.cascade(to: promise)
            } else {
                heldPromise = promise
            }
        }
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
        // What was written goes on first, as it would have without this handler; flushed if a
        // flush was asked for.
        passHeld(context: context)
        flushNow()
        context.close(mode: mode, promise: promise)
    }

    private func flushNow() {
        guard flushPending, let context else { return }
        flushPending = false
        passHeld(context: context)
        context.flush()
    }

    private func passHeld(context: ChannelHandlerContext) {
        guard let buffer = held else { return }
        let promise = heldPromise
        held = nil
        heldPromise = nil
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
    }
}
