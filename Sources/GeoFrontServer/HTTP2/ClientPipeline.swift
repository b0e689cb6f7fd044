import GeoFrontCore
import GeoIP
import NIOCore
import NIOHTTP2

/// What a client connection's request path is built from, once its HTTP version is known:
/// ``HTTP1FrontEnd`` on the connection itself (HTTP/1.1), or NIOHTTP2's handler with an
/// ``H2StreamHost`` that serves each stream with an ``HTTP1FrontEnd`` of its own (HTTP/2). Made
/// per connection on its event loop.
struct ClientPipeline: Sendable {
    let snapshots: NIOLoopBoundBox<RoutingSnapshot>
    let loop: NIOLoopBound<LoopState>
    let health: ProxyHealthReporter
    /// `server` of the configuration the connection was accepted under.
    let settings: ServerSettings
    let secure: Bool
    let httpsPort: Int?
    let metrics: GeoFrontMetrics

    /// The one HTTP/1 front end, for a connection or for one HTTP/2 stream.
    func frontEnd() -> HTTP1FrontEnd {
        HTTP1FrontEnd(
            snapshots: snapshots, loop: loop.value, health: health, settings: settings, secure: secure,
            httpsPort: httpsPort)
    }

    /// HTTP/1.1: the front end, last in `channel`'s pipeline.
    func addHTTP1(to channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandler(frontEnd())
    }

    /// HTTP/2, last in `channel`'s pipeline: ``H2GoAwayWatch`` (on the bytes), ``H2FlushBatcher`` (one
    /// flush per loop turn for the streams' writes outside a read), NIOHTTP2's handler
    /// (framing, HPACK, flow control, the limits of RFC 9113 §10), ``H2StreamHost`` (the streams,
    /// the idle timeout, the graceful close of a drain) and ``H2ConnectionHandler`` (errors).
    /// `peer` is the client address of a PROXY header, handed to each stream's front end.
    func addHTTP2(to channel: any Channel, peer: IPAddress?) throws {
        let settings = self.settings
        let window = TimeAmount.milliseconds(Int64(settings.h2FloodWindowMilliseconds))
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: settings.h2MaxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: settings.maxRequestHeadBytes),
            // The HPACK table the client may make us keep: RFC 9113's default, said out loud.
            HTTP2Setting(parameter: .headerTableSize, value: 4096),
        ]
        // Request header blocks are checked by ``H2RequestHead`` as it reads them, and a request's
        // DATA against its `content-length` by ``H2ServerStream``; the responses are written
        // lower-cased, without connection-specific fields, and with the DATA their heads announce
        // by ``H2ResponseFramer``: NIOHTTP2's own passes over each block and stream, both ways,
        // are not needed.
        connection.headerBlockValidation = .disabled
        connection.contentLengthValidation = .disabled
        connection.maximumSequentialContinuationFrames = settings.h2MaxContinuationFrames
        connection.controlFrameRateLimit.maximumCount = settings.h2MaxControlFrames
        connection.controlFrameRateLimit.windowLength = window
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.streamResetFrameRateLimit.maximumCount = settings.h2MaxResets
        stream.streamResetFrameRateLimit.windowLength = window
        stream.streamErrorRateLimit.windowLength = window
        let grace = TimeAmount.milliseconds(Int64(settings.shutdownGraceMilliseconds))
        let watch = H2GoAwayWatch(metrics: metrics, grace: grace)
        let host = H2StreamHost(
            settings: H2StreamHost.Settings(
                maxConcurrentStreams: settings.h2MaxConcurrentStreams, streamWindow: stream.targetWindowSize,
                connectionWindow: connection.targetWindowSize, highWatermark: stream.outboundBufferSizeHighWatermark,
                lowWatermark: stream.outboundBufferSizeLowWatermark,
                sendTimeout: .milliseconds(Int64(settings.sendTimeoutMilliseconds)),
                malformedLimit: stream.streamErrorRateLimit.maximumCount, floodWindow: window,
                idleTimeout: .milliseconds(Int64(settings.idleTimeoutMilliseconds))),
            peer: peer, goAwayWatch: watch, sendTimeouts: metrics.sendTimeouts, streamsOpened: metrics.h2Streams,
            timers: loop.value.timers, channel: channel
        ) { [self] in
            let frontEnd = frontEnd()
            frontEnd.http2 = true
            return frontEnd
        }
        // Frames for every stream come to the host on this pipeline (no child channels); it is
        // also told which DATA NIOHTTP2 sent.
        let h2 = NIOHTTP2Handler(
            mode: .server, frameDelegate: host, connectionConfiguration: connection, streamConfiguration: stream)
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(watch)
        try pipeline.addHandler(H2FlushBatcher())
        try pipeline.addHandler(h2)
        try pipeline.addHandler(host)
        try pipeline.addHandler(H2ConnectionHandler(watch: watch))
        metrics.h2Connections.increment()
    }
}
