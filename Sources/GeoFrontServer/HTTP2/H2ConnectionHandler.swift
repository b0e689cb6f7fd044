import NIOCore
import NIOHTTP2

/// Last on an HTTP/2 connection, after NIOHTTP2's handler and ``H2StreamHost``: takes the
/// connection's own frames (streams have theirs in child channels) and the errors NIOHTTP2
/// reports, and tells ``H2GoAwayWatch`` why a GOAWAY goes out: the kind of flood (RFC 9113 §10.5,
/// CVE-2023-44487, the CONTINUATION flood) or a drain. Closing is the watch's: stream errors
/// (answered with RST_STREAM) come through here too and leave the connection up.
final class H2ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame

    private let watch: H2GoAwayWatch

    init(watch: H2GoAwayWatch) {
        self.watch = watch
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // SETTINGS, PING, GOAWAY, WINDOW_UPDATE of the connection: NIOHTTP2 has acted on them.
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let reason = Self.reason(error) { watch.note(reason: reason) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { watch.note(reason: "shutdown") }
        context.fireUserInboundEventTriggered(event)
    }

    /// The `geofront_h2_goaway_total` reason of an error that ends the connection, when it names
    /// one more precisely than the GOAWAY's error code.
    static func reason(_ error: any Error) -> String? {
        switch error {
        case is NIOHTTP2Errors.ExcessiveRSTFrames: return "rapid_reset"
        case is NIOHTTP2Errors.ExcessiveContinuationFrames: return "continuation_flood"
        case is NIOHTTP2Errors.ExcessiveControlFrames: return "control_frame_flood"
        case is NIOHTTP2Errors.ExcessiveEmptyDataFrames: return "empty_frame_flood"
        case is NIOHTTP2Errors.ExcessiveStreamErrors: return "stream_error_flood"
        case is NIOHTTP2Errors.ExcessiveNumberOfGlitches: return "glitches"
        case is NIOHTTP2Errors.ExcessivelyLargeHeaderBlock: return "header_block_too_large"
        case is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering: return "outbound_flood"
        case is NIOHTTP2Errors.BadClientMagic: return "bad_preface"
        default: return nil
        }
    }
}
