import NIOCore

/// One end of a byte tunnel between two channels on the same event loop (a WebSocket after
/// `101 Switching Protocols`). Bytes read on one side are written to the other; a side reads only
/// while its partner can take more.
///
/// Half-close is honoured: when one side ends its output (a FIN), the other side's output ends
/// once what it still has to write is out, and the tunnel goes on in the other direction until
/// that side ends too (both channels allow remote half-closure from the moment the tunnel is
/// set up). When one side closes, the other is closed once its pending writes are out.
/// `proxy.tunnel_idle_timeout_ms` of silence in both directions closes both
/// (``TunnelActivity``).
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    private var readPending = false
    private let activity: TunnelActivity

    private init(activity: TunnelActivity) {
        self.activity = activity
    }

    /// Replaces the front end of a client connection (which has written the `101` and become a
    /// tunnel, ``HTTP1FrontEnd/becomeTunnel(to:)``) and the byte handler of its upstream
    /// connection with a pair of tunnel ends: run once the event delivering the `101` is over.
    static func join(_ frontEnd: HTTP1FrontEnd, upstream: any Channel, idleTimeout: TimeAmount) {
        upstream.eventLoop.assumeIsolated().execute {
            let (clientEnd, upstreamEnd) = TunnelHandler.pair(idleTimeout: idleTimeout)
            do {
                let pipeline = upstream.pipeline.syncOperations
                let handler = try pipeline.context(handlerType: ByteUpstreamHandler.self)
                try pipeline.addHandler(upstreamEnd, position: .after(handler.handler))
                pipeline.removeHandler(context: handler, promise: nil)
                try frontEnd.leavePipeline(for: clientEnd)
                upstream.read()
            } catch {
                upstream.close(promise: nil)
                frontEnd.cut()
            }
        }
    }

    /// Two handlers that forward to each other, closed after `idleTimeout` without a byte either
    /// way.
    static func pair(idleTimeout: TimeAmount) -> (TunnelHandler, TunnelHandler) {
        let activity = TunnelActivity(idleTimeout: idleTimeout)
        let first = TunnelHandler(activity: activity)
        let second = TunnelHandler(activity: activity)
        first.partner = second
        second.partner = first
        activity.ends = (first, second)
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Half-close is passed on, not taken for a full close.
        context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenFailure { _ in }
        activity.start(on: context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        activity.touch()
        partner?.forward(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.closeAfterPendingWrites()
        activity.stop()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            // Half-close: the other side's output ends too, after what it still has to write.
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

    /// Closes this side once the bytes already written to it are out.
    private func closeAfterPendingWrites() {
        guard let context else { return }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Closes both sides now (idle timeout).
    fileprivate func closeNow() {
        context?.close(promise: nil)
    }
}

/// When a tunnel last carried a byte, and the one timer that closes it after
/// `tunnel_idle_timeout_ms` of silence both ways. Checked at most once per timeout (the timer is
/// not moved per read); confined to the tunnel's event loop.
final class TunnelActivity {
    private let idleTimeout: TimeAmount
    private var loop: (any EventLoop)?
    private var last = NIODeadline.uptimeNanoseconds(0)
    private var task: Scheduled<Void>?
    fileprivate var ends: (TunnelHandler, TunnelHandler)?

    init(idleTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
    }

    /// Starts the timer when the first end joins its channel.
    func start(on loop: any EventLoop) {
        guard self.loop == nil else { return }
        self.loop = loop
        last = loop.now
        schedule(at: last + idleTimeout)
    }

    func touch() {
        if let loop { last = loop.now }
    }

    func stop() {
        task?.cancel()
        task = nil
        ends = nil
    }

    private func schedule(at deadline: NIODeadline) {
        guard let loop else { return }
        task = loop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            task = nil
            let due = last + idleTimeout
            if loop.now < due {
                schedule(at: due)
            } else if let (first, second) = ends {
                ends = nil
                first.closeNow()
                second.closeNow()
            }
        }
    }
}
