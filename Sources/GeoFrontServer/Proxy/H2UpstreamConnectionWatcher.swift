import NIOCore
import NIOHTTP2

/// After NIOHTTP2's handler on an upstream connection: reads the connection's own frames for what
/// the pool needs — the upstream's SETTINGS (its stream limit; the first ones make the connection
/// ready) and GOAWAY (no new streams).
final class H2UpstreamConnectionWatcher: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame

    private let connection: H2UpstreamConnection

    init(connection: H2UpstreamConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data).payload {
        case .settings(.settings(let settings)):
            let limit = settings.last { $0.parameter == .maxConcurrentStreams }?.value
            connection.settingsReceived(maxConcurrentStreams: limit)
        case .goAway:
            connection.goingAway = true
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Stream errors reach the connection too and leave it up; on a connection error NIOHTTP2
        // sends GOAWAY and closes it, ending its streams.
    }
}
