import Metrics
import NIOCore

/// `server.send_timeout_ms` and write backpressure for a client connection, whatever front end
/// serves it.
///
/// While the connection is not writable (the client takes less than is written to it), reads
/// from the client are held, so a client that sends requests without reading the answers cannot
/// make responses pile up in memory; reads resume when it is writable again. If it stays not
/// writable for the whole send timeout, the connection is closed and counted in
/// `geofront_send_timeouts_total` (nginx's `send_timeout`). The timer exists only while the
/// connection is full, so a connection that keeps up costs nothing here but the pass-through.
///
/// Sits first in the pipeline (before TLS), so it sees every byte the connection owes.
final class SendTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let counter: Metrics.Counter?
    private var gate = SendTimeoutGate()

    init(timeout: TimeAmount, counter: Metrics.Counter?) {
        self.timeout = timeout
        self.counter = counter
    }

    func read(context: ChannelHandlerContext) {
        if gate.passRead(writable: context.channel.isWritable) { context.read() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let resume = gate.writabilityChanged(context, timeout: timeout) { [counter] in
            counter?.increment()
            context.close(promise: nil)
        }
        if resume { context.read() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        gate.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        gate.cancel()
    }
}
