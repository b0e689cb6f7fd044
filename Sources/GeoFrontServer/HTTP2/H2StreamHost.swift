import GeoIP
import Metrics
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The streams of one HTTP/2 client connection, each an ``H2ServerStream`` served by its own
/// ordinary ``HTTP1FrontEnd``, all on the connection's own pipeline: after NIOHTTP2's handler,
/// this takes every stream's frames and NIOHTTP2's events about them, opens
/// a stream at its first HEADERS, and writes the streams' frames. No channel per stream: a child
/// channel, its pipeline and its promises cost more per stream than the whole rest of a
/// redirect (docs/benchmarks.md, "The HTTP/2 floor").
///
/// What NIOHTTP2 leaves to the user of its frames is kept here:
/// - the receive windows, the connection's (topped up as DATA arrives) and each stream's (as its
///   front end takes the DATA; ``H2InboundWindow``);
/// - which stream DATA waits in NIOHTTP2 for the client's window (``NIOHTTP2FrameDelegate``
///   tells what it sent), for each stream's writability;
/// - the streams' reads: the front ends given bytes during a read from the client end their
///   reads with it, and their flushes are made once, when it completes;
/// - streams beyond `server.h2_max_concurrent_streams` that arrive before the client has
///   acknowledged the SETTINGS announcing it, refused one by one (RFC 9113 §5.1.2; after that,
///   NIOHTTP2 enforces the limit itself);
/// - the connection's allowance of malformed requests (``H2StreamErrorBudget``); past it, GOAWAY
///   `ENHANCE_YOUR_CALM`, counted as `stream_error_flood` (``H2GoAwayWatch`` closes).
///
/// The connection's drain (``ChannelShouldQuiesceEvent``) does not reach the streams: the
/// graceful close's GOAWAYs refuse new ones (``H2GracefulClose``), and open ones finish their
/// exchanges. The idle timeout (`server.idle_timeout_ms` without an open stream) is kept here too,
/// on the loop's lazily re-armed timers (a stream opened and closed costs no scheduled task), and
/// ends the connection by the same graceful close. Both were NIOHTTP2's connection manager's, a
/// handler that took every frame and event and kept a set of the open streams: ≈ 0.5 µs of a
/// redirect stream, for what the streams kept here already tell.
/// NIOHTTP2's events about streams stop here; the connection's own go on.
final class H2StreamHost: ChannelDuplexHandler, NIOHTTP2FrameDelegate {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    struct Settings {
        var maxConcurrentStreams: Int
        var streamWindow: Int
        var connectionWindow: Int
        /// A stream is not writable above the high watermark of DATA waiting for its window, and
        /// writable again below the low one.
        var highWatermark: Int
        var lowWatermark: Int
        var sendTimeout: TimeAmount
        var malformedLimit: Int
        var floodWindow: TimeAmount
        var idleTimeout: TimeAmount
    }

    private let settings: Settings
    private let makeFrontEnd: () -> HTTP1FrontEnd
    /// The client address of the connection's PROXY header, for the front ends.
    private let proxiedPeer: IPAddress?
    private let goAwayWatch: H2GoAwayWatch
    private let sendTimeouts: Metrics.Counter?
    private let streamsOpened: Metrics.Counter
    private let timers: LoopTimers
    /// Runs out `idleTimeout` after the last stream closed (or the connection opened).
    private var idleTimer: DeadlineTimer?
    /// The idle timeout began the graceful close.
    private var closingIdle = false
    private var gracefulClose = H2GracefulClose()
    /// The largest stream ID the client opened (the graceful close's second GOAWAY names it).
    private var lastStreamID = HTTP2StreamID.rootStream

    private var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: H2ServerStream] = [:]
    private var connectionWindow: H2InboundWindow
    private var malformedBudget: H2StreamErrorBudget
    /// The streams given bytes during the current read from the client.
    private var reading: [H2ServerStream] = []
    private(set) var inRead = false
    private var flushPending = false
    /// Inside a flush (a stream can close under it, as NIOHTTP2 sends its last frame).
    private var flushing = false
    private(set) var parentWritable = true
    private(set) var clientAddress = IPAddress(v4: 0)
    /// The fields of the last response head sent on the connection (``H2ResponseFramer``'s HPACK
    /// indexing: a value repeated from it is indexed).
    var previousResponseFields: HPACKHeaders?

    init(
        settings: Settings, peer: IPAddress?, goAwayWatch: H2GoAwayWatch, sendTimeouts: Metrics.Counter?,
        streamsOpened: Metrics.Counter, timers: LoopTimers, channel: any Channel,
        makeFrontEnd: @escaping () -> HTTP1FrontEnd
    ) {
        self.timers = timers
        allocator = channel.allocator
        eventLoop = channel.eventLoop
        self.settings = settings
        proxiedPeer = peer
        self.goAwayWatch = goAwayWatch
        self.sendTimeouts = sendTimeouts
        self.streamsOpened = streamsOpened
        self.makeFrontEnd = makeFrontEnd
        connectionWindow = H2InboundWindow(target: settings.connectionWindow)
        malformedBudget = H2StreamErrorBudget(maximumCount: settings.malformedLimit, window: settings.floodWindow)
        if let peer { clientAddress = peer }
    }

    let allocator: ByteBufferAllocator
    let eventLoop: any EventLoop
    var highWatermark: Int { settings.highWatermark }
    var lowWatermark: Int { settings.lowWatermark }
    var sendTimeout: TimeAmount { settings.sendTimeout }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        parentWritable = context.channel.isWritable
        noteClientAddress(context)
        let timer = DeadlineTimer(timers: timers)
        // Cleared when the handler is removed.
        timer.action = { [unowned self] in self.idle() }
        idleTimer = timer
        if context.channel.isActive { timer.arm(in: settings.idleTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        endAll()
        idleTimer?.cancel()
        idleTimer?.action = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        noteClientAddress(context)
        idleTimer?.arm(in: settings.idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        endAll()
        idleTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inRead = true
        let frame = unwrapInboundIn(data)
        let id = frame.streamID
        // The connection's own frames (SETTINGS, PING, GOAWAY, WINDOW_UPDATE): NIOHTTP2 acted on
        // them; the acknowledgement of the graceful close's PING is the close's.
        guard id != .rootStream else {
            if case .ping(let data, ack: true) = frame.payload { pingAcknowledged(data) }
            return
        }
        if let stream = streams[id] {
            stream.receive(frame.payload)
        } else if case .headers(let block) = frame.payload {
            open(id, block)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        var index = 0
        // A stream's read's end may start another's (an exchange ends, a follower is woken).
        while index < reading.count {
            reading[index].readComplete()
            index += 1
        }
        reading.removeAll(keepingCapacity: true)
        inRead = false
        if flushPending {
            flushPending = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Told apart by their dynamic type first: a failed `as?` is a cast through the runtime's
        // general paths (≈ 0.1 µs a stream for the two events each stream has, tried case by
        // case), a type compared is a pointer compared. The casts below then succeed at once.
        let type = Swift.type(of: event)
        if type == NIOHTTP2StreamCreatedEvent.self { return }
        if type == StreamClosedEvent.self, let closed = event as? StreamClosedEvent {
            guard let stream = streams.removeValue(forKey: closed.streamID) else { return }
            stream.closed()
            if streams.isEmpty {
                if gracefulClose.closesWhenIdle {
                    closeAfterFlush()
                } else if gracefulClose.state == .open {
                    idleTimer?.arm(in: settings.idleTimeout)
                }
            }
            return
        }
        if type == NIOHTTP2WindowUpdatedEvent.self, let update = event as? NIOHTTP2WindowUpdatedEvent {
            guard let size = update.inboundWindowSize else { return }
            if update.streamID == .rootStream {
                if let increment = connectionWindow.reported(size) {
                    write(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment)))
                    flush()
                }
            } else {
                streams[update.streamID]?.windowReported(size)
            }
            return
        }
        if event is ChannelShouldQuiesceEvent {
            if closingIdle { return }  // counted as the idle close it already is
            beginGracefulClose()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        parentWritable = context.channel.isWritable
        for stream in streams.values { stream.connectionWritabilityChanged() }
        context.fireChannelWritabilityChanged()
    }

    // MARK: - NIOHTTP2FrameDelegate

    func wroteFrame(_ frame: HTTP2Frame) {
        if case .data(let data) = frame.payload {
            streams[frame.streamID]?.sent(data.data.readableBytes)
        }
    }

    // MARK: - For the streams

    func write(_ frame: HTTP2Frame) {
        context?.write(wrapOutboundOut(frame), promise: nil)
    }

    /// Flushes now, or at the end of the client's read when inside one.
    func flush() {
        if inRead {
            flushPending = true
        } else {
            flushUnlessFlushing()
        }
    }

    /// A stream closed with frames perhaps not flushed. In a read, NIOHTTP2 flushes what it
    /// wrote when the read completes; under a flush, they are being sent.
    func flushClosedStream() {
        if !inRead { flushUnlessFlushing() }
    }

    private func flushUnlessFlushing() {
        guard !flushing, let context else { return }
        flushing = true
        context.flush()
        flushing = false
    }

    /// `stream` was given bytes during the client's read: its read ends with this one.
    func readInProgress(_ stream: H2ServerStream) {
        reading.append(stream)
    }

    func sendTimedOut() {
        sendTimeouts?.increment()
    }

    /// A stream's request was malformed (and that stream reset): past the connection's allowance,
    /// GOAWAY `ENHANCE_YOUR_CALM`.
    func malformedRequest(on id: HTTP2StreamID) {
        guard !malformedBudget.spend(now: .now()), let context else { return }
        goAwayWatch.note(reason: "stream_error_flood")
        context.writeAndFlush(
            wrapOutboundOut(
                HTTP2Frame(
                    streamID: .rootStream,
                    payload: .goAway(lastStreamID: id, errorCode: .enhanceYourCalm, opaqueData: nil))),
            promise: nil)
    }

    // MARK: - Inside

    private func open(_ id: HTTP2StreamID, _ block: HTTP2Frame.FramePayload.Headers) {
        if id > lastStreamID { lastStreamID = id }
        // NIOHTTP2 enforces the limit once the client has acknowledged the SETTINGS that announce
        // it (a stream beyond it is then a connection error); streams beyond it sent before that
        // are refused here.
        guard streams.count < settings.maxConcurrentStreams else {
            write(HTTP2Frame(streamID: id, payload: .rstStream(.refusedStream)))
            flush()
            return
        }
        let stream = H2ServerStream(id: id, host: self, windowTarget: settings.streamWindow)
        streams[id] = stream
        idleTimer?.disarm()
        streamsOpened.increment()
        stream.open(block, frontEnd: makeFrontEnd())
    }

    /// No stream for `idleTimeout`: the connection ends as it would for a drain (GOAWAY
    /// `NO_ERROR`, counted as `idle`).
    private func idle() {
        guard streams.isEmpty, !closingIdle, context != nil else { return }
        closingIdle = true
        beginGracefulClose()
    }

    /// The graceful close's first GOAWAY and PING (``H2GracefulClose``).
    private func beginGracefulClose() {
        guard let frames = gracefulClose.start() else { return }
        idleTimer?.cancel()
        write(HTTP2Frame(streamID: .rootStream, payload: frames.goAway))
        write(HTTP2Frame(streamID: .rootStream, payload: frames.ping))
        flush()
    }

    /// The client read the first GOAWAY: the second names its last stream, and with no stream
    /// open the connection ends.
    private func pingAcknowledged(_ data: HTTP2PingData) {
        guard let goAway = gracefulClose.pingAcknowledged(data, lastStreamID: lastStreamID) else { return }
        write(HTTP2Frame(streamID: .rootStream, payload: goAway))
        if streams.isEmpty { closeAfterFlush() } else { flush() }
    }

    /// Flushes (now, or as the client's read completes) and closes a loop turn later, after the
    /// flush: a stream's last frame may still wait in NIOHTTP2 for it.
    private func closeAfterFlush() {
        guard let context else { return }
        flush()
        context.eventLoop.assumeIsolated().execute { context.close(promise: nil) }
    }

    private func endAll() {
        let open = streams
        streams = [:]
        for stream in open.values { stream.closed() }
    }

    private func noteClientAddress(_ context: ChannelHandlerContext) {
        guard proxiedPeer == nil, let address = IPAddress(context.channel.remoteAddress) else { return }
        clientAddress = address
    }
}
