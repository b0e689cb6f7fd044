import GeoIP
import NIOCore
import NIOTLS

/// Picks a client connection's HTTP version before its first request, builds the rest of its
/// pipeline (``ClientPipeline``) and leaves: on the TLS listener by ALPN (`h2` → HTTP/2, anything
/// else or nothing → HTTP/1.1), on a plain listener with `server.h2c` by the first bytes (the
/// HTTP/2 connection preface → HTTP/2 with prior knowledge, anything else → HTTP/1.1).
///
/// Bytes read meanwhile and a PROXY header's address are handed on to what it builds. A
/// connection that chooses nothing within `server.idle_timeout_ms` (a TLS handshake that never
/// ends, a silent client) is closed, as is one still choosing when the server drains.
final class ProtocolSelector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Mode {
        case alpn
        case preface
    }

    /// `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (RFC 9113 §3.4).
    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let mode: Mode
    private let clients: ClientPipeline
    private var buffered: ByteBuffer?
    private var source: ProxyProtocolSource?
    private var timeout: Scheduled<Void>?
    private var chosen = false

    init(mode: Mode, clients: ClientPipeline) {
        self.mode = mode
        self.clients = clients
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context: context)
        context.fireChannelActive()
    }

    private func arm(context: ChannelHandlerContext) {
        guard timeout == nil else { return }
        let delay = TimeAmount.milliseconds(Int64(clients.settings.idleTimeoutMilliseconds))
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [weak self] in
            guard let self, !self.chosen else { return }
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let event as ProxyProtocolSource:
            source = event
        case TLSUserEvent.handshakeCompleted(let negotiated) where mode == .alpn:
            choose(http2: negotiated == "h2", context: context)
            context.fireUserInboundEventTriggered(event)
        case is ChannelShouldQuiesceEvent:
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        guard mode == .preface, let bytes = buffered else { return }
        let count = min(bytes.readableBytes, Self.preface.count)
        let matches = bytes.withUnsafeReadableBytes { raw in
            (0..<count).allSatisfy { raw[$0] == Self.preface[$0] }
        }
        if !matches {
            choose(http2: false, context: context)
        } else if count == Self.preface.count {
            choose(http2: true, context: context)
        }
    }

    /// Builds the pipeline for the version chosen, hands on what came so far, and leaves.
    private func choose(http2: Bool, context: ChannelHandlerContext) {
        guard !chosen else { return }
        chosen = true
        timeout?.cancel()
        timeout = nil
        let channel = context.channel
        do {
            if http2 {
                try clients.addHTTP2(to: channel, peer: source?.address)
            } else {
                try clients.addHTTP1(to: channel)
                if let source { context.fireUserInboundEventTriggered(source) }
            }
        } catch {
            context.close(promise: nil)
            return
        }
        if let bytes = buffered {
            buffered = nil
            context.fireChannelRead(wrapInboundOut(bytes))
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
