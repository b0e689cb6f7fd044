import GeoFrontCore
import GeoIP
import NIOCore

/// The client address a PROXY protocol header carried; sent down the pipeline as a user event
/// so the handlers that resolve client IPs use it as the peer.
struct ProxyProtocolSource: Sendable {
    let address: IPAddress
}

/// First handler of a connection from an L4 balancer (`"proxy_protocol": true`): reads the PROXY
/// header (v1 or v2), announces the address it carries, passes on what follows, and leaves the
/// pipeline. A malformed header closes the connection. Only trusted peers get here; others are
/// closed at accept.
final class ProxyProtocolHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var buffer: ByteBuffer?
    private var done = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else {
            context.fireChannelRead(data)
            return
        }
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
        let outcome: Result<ProxyProtocolParser.Outcome, ProxyProtocolParser.Malformed> =
            buffer!.withUnsafeReadableBytes { bytes in
                do throws(ProxyProtocolParser.Malformed) { return .success(try ProxyProtocolParser.parse(bytes)) } catch
                {
                    return .failure(error)
                }
            }
        switch outcome {
        case .success(.incomplete):
            return
        case .success(.complete(let consumed, let source)):
            done = true
            var rest = buffer!
            buffer = nil
            rest.moveReaderIndex(forwardBy: consumed)
            if let source { context.fireUserInboundEventTriggered(ProxyProtocolSource(address: source.unmapped)) }
            if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case .failure:
            buffer = nil
            context.close(promise: nil)
        }
    }
}
