import GeoIP
import Metrics
import NIOCore
import NIOHTTP2

/// One HTTP/2 stream as one HTTP/1.1 exchange, first in the stream's child channel with the
/// ordinary ``HTTP1FrontEnd`` after it, so that a stream drives the same decision and exchange
/// as an HTTP/1 request (redirect, proxy, routes, policies, cache).
///
/// Inbound, the stream's HEADERS become request head bytes (``H2RequestHead``) and its DATA the
/// body (as it is under a `content-length`, else as chunks; trailers end it). Outbound, the
/// response bytes the front end writes become HEADERS and DATA (``H2ResponseFramer``), with
/// END_STREAM where the response's framing ends it. A stream carries one request: once the
/// response is out and the request in, NIOHTTP2 closes the stream; a response that ends before
/// its request body does resets the rest (as HTTP/1 would close the connection). A header block
/// HTTP/1.1 cannot carry, or a response the front end cuts short, resets the stream.
///
/// The connection's drain (``ChannelShouldQuiesceEvent``) stops here: the connection's GOAWAY
/// refuses new streams, and the open one finishes its exchange.
///
/// `server.send_timeout_ms` per stream is kept here too, as ``SendTimeoutHandler`` keeps it for a
/// connection (one handler fewer per stream): while the stream's window is shut (the child
/// channel is not writable) its reads are held, and if it stays shut for the whole timeout the
/// stream is closed — reset, its upstream request cancelled — and counted in
/// `geofront_send_timeouts_total`. A client can shut one stream's window while the connection
/// stays writable; the other streams go on.
final class H2StreamAdapter: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum Request {
        case head
        case body(H2RequestHead.Body)
        case done
    }

    /// The client address of the connection's PROXY header, for the front end.
    private let peer: IPAddress?
    private var request = Request.head
    private var response = H2ResponseFramer()
    private var reset = false
    /// Over the connection's stream limit: the stream is refused (REFUSED_STREAM) at its first frame.
    private let refusing: Bool
    /// `server.send_timeout_ms`, and its counter.
    private let sendTimeout: TimeAmount
    private let sendTimeouts: Metrics.Counter?
    /// Reads held and the timer run while the stream's window is shut.
    private var sendGate = SendTimeoutGate()
    /// The connection's count of open streams, which this one leaves when its channel closes.
    private var openStreams: NIOLoopBoundBox<Int>?
    /// The connection's allowance of malformed requests, and what to tell when it runs out.
    private let malformedBudget: NIOLoopBoundBox<H2StreamErrorBudget>?
    private let goAwayWatch: H2GoAwayWatch?

    init(
        peer: IPAddress?, sendTimeout: TimeAmount, sendTimeouts: Metrics.Counter?,
        openStreams: NIOLoopBoundBox<Int>? = nil, malformedBudget: NIOLoopBoundBox<H2StreamErrorBudget>? = nil,
        goAwayWatch: H2GoAwayWatch? = nil
    ) {
        self.peer = peer
        refusing = false
        self.sendTimeout = sendTimeout
        self.sendTimeouts = sendTimeouts
        self.openStreams = openStreams
        self.malformedBudget = malformedBudget
        self.goAwayWatch = goAwayWatch
    }

    /// A stream beyond `server.h2_max_concurrent_streams`, refused: nothing follows this handler.
    init(refusing: Void) {
        peer = nil
        self.refusing = true
        sendTimeout = .zero
        sendTimeouts = nil
        malformedBudget = nil
        goAwayWatch = nil
    }

    // MARK: - Request

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        if refusing {
            resetStream(context: context, .refusedStream)
            return
        }
        switch (payload, request) {
        case (.headers(let block), .head):
            let head: H2RequestHead
            do {
                head = try H2RequestHead.make(
                    block.headers, endStream: block.endStream, allocator: context.channel.allocator)
            } catch {
                malformed(context: context)
                return
            }
            if let peer { context.fireUserInboundEventTriggered(ProxyProtocolSource(address: peer)) }
            request = head.body == .none ? .done : .body(head.body)
            response.requestWasHEAD = head.isHEAD
            context.fireChannelRead(wrapInboundOut(head.bytes))
        case (.data(let frame), .body(let body)):
            guard case .byteBuffer(var bytes) = frame.data else { return }
            if body == .chunked {
                bytes = ChunkedDATA.chunk(bytes, last: frame.endStream, allocator: context.channel.allocator)
            }
            if frame.endStream { request = .done }
            if bytes.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(bytes)) }
        case (.headers(let trailers), .body(let body)):
            // Trailers (NIOHTTP2 made sure they end the stream) are not passed on: the body ends.
            guard trailers.endStream else { return }
            guard H2RequestHead.isValidTrailers(trailers.headers) else {
                malformed(context: context)
                return
            }
            request = .done
            if body == .chunked {
                context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(staticString: "0\r\n\r\n")))
            }
        default:
            // PRIORITY, WINDOW_UPDATE and the like: NIOHTTP2's business.
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { return }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: - Send timeout

    func read(context: ChannelHandlerContext) {
        if sendGate.passRead(writable: context.channel.isWritable) { context.read() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // A refused stream is reset at its first frame: no timer for it.
        let resume =
            !refusing
            && sendGate.writabilityChanged(context, timeout: sendTimeout) { [sendTimeouts] in
                sendTimeouts?.increment()
                // From the pipeline's tail, so that this handler's `close` resets the stream.
                context.channel.close(promise: nil)
            }
        if resume { context.read() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        ended()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        ended()
    }

    private func ended() {
        sendGate.cancel()
        if let openStreams {
            self.openStreams = nil
            openStreams.value -= 1
        }
    }

    // MARK: - Response

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        guard !reset else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        var last: HTTP2Frame.FramePayload?
        do {
            try response.consume(buffer) { frame in
                if let earlier = last { context.write(wrapOutboundOut(earlier), promise: nil) }
                last = frame
            }
        } catch {
            promise?.fail(error)
            resetStream(context: context, .internalError)
            return
        }
        if let last {
            context.write(wrapOutboundOut(last), promise: promise)
        } else {
            promise?.succeed()
        }
    }

    func flush(context: ChannelHandlerContext) {
        response.flushHeld { context.write(wrapOutboundOut($0), promise: nil) }
        context.flush()
        // The response is whole but the request is not: the rest of it is not wanted.
        if response.isDone, case .body = request { resetStream(context: context, .noError) }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if response.endsAtClose {
            // A body without length ends with the front end's close.
            response.finish { context.write(wrapOutboundOut($0), promise: nil) }
            context.flush()
        } else if !response.isDone {
            // Cut short (or never answered): a reset, so the client cannot take it for whole.
            resetStream(context: context, .internalError, close: false)
        }
        context.close(mode: mode, promise: promise)
    }

    /// A malformed request: its stream is reset with PROTOCOL_ERROR (RFC 9113 §8.1.1). Past the
    /// connection's allowance (``H2StreamErrorBudget``) the whole connection ends with GOAWAY
    /// `ENHANCE_YOUR_CALM`, counted as `stream_error_flood` (``H2GoAwayWatch`` closes it).
    private func malformed(context: ChannelHandlerContext) {
        resetStream(context: context, .protocolError)
        guard let malformedBudget, !malformedBudget.value.spend(now: .now()), let parent = context.channel.parent
        else { return }
        goAwayWatch?.note(reason: "stream_error_flood")
        let last = (try? context.channel.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID)) ?? .rootStream
        parent.writeAndFlush(
            HTTP2Frame(
                streamID: .rootStream,
                payload: .goAway(lastStreamID: last, errorCode: .enhanceYourCalm, opaqueData: nil)),
            promise: nil)
    }

    /// Ends the stream with RST_STREAM `code` (and closes its channel, unless the caller will).
    private func resetStream(context: ChannelHandlerContext, _ code: HTTP2ErrorCode, close: Bool = true) {
        guard !reset else { return }
        reset = true
        request = .done
        context.writeAndFlush(wrapOutboundOut(.rstStream(code)), promise: nil)
        if close { context.close(promise: nil) }
    }
}
