import NIOCore
import NIOHTTP2

/// Sits under NIOHTTP2's handler on an HTTP/2 connection and follows the frames it writes (frame
/// headers only: a few integer steps per write, nothing copied but a header split across writes).
/// When a GOAWAY goes out it:
/// - with an error code (NIOHTTP2 found a connection error: a flood, a bad preface, a protocol
///   violation), closes the connection once the frame is written, as RFC 9113 §5.4.1 asks;
/// - with `NO_ERROR` (drain, idle), closes it anyway after the shutdown grace if the client has
///   not finished by then (a client that never acknowledges the GOAWAY's PING cannot hold it);
/// - counts the closure once in `geofront_h2_goaway_total{reason}`, with the reason
///   ``H2ConnectionHandler`` saw (the flood's kind, `shutdown`) or else the error code's name.
final class H2GoAwayWatch: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let metrics: GeoFrontMetrics
    private let grace: TimeAmount
    /// Payload bytes of the current frame still to come in later writes.
    private var skip = 0
    /// The start of a frame header split across writes.
    private var carry: [UInt8] = []
    /// The first GOAWAY's error code, once one went out.
    private(set) var goAwayCode: HTTP2ErrorCode?
    /// Why, as far as the handlers above know (``note(reason:)``).
    private var reason: String?
    private var counted = false
    /// An error GOAWAY went out: the connection is ending.
    private var closing = false
    private var backstop: Scheduled<Void>?

    init(metrics: GeoFrontMetrics, grace: TimeAmount) {
        self.metrics = metrics
        self.grace = grace
    }

    /// The cause of the coming (or sent) GOAWAY, for its count; the first one given stands.
    func note(reason: String) {
        if self.reason == nil { self.reason = reason }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(let buffer) = unwrapOutboundIn(data), let code = scan(buffer) else {
            context.write(data, promise: promise)
            return
        }
        // Later GOAWAYs matter only when an error follows a graceful one (a flood while draining).
        guard goAwayCode == nil || (goAwayCode == .noError && code != .noError) else {
            context.write(data, promise: promise)
            return
        }
        if goAwayCode == nil { goAwayCode = code }
        if code == .noError {
            context.write(data, promise: promise)
            backstop = context.eventLoop.assumeIsolated().scheduleTask(in: grace) {
                context.close(promise: nil)
            }
            return
        }
        closing = true
        // An error: the connection ends once the GOAWAY is out, a loop turn later, so that the
        // error NIOHTTP2 reports right after writing it is noted first.
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.hop(to: context.eventLoop).assumeIsolated().whenComplete { _ in
            context.eventLoop.assumeIsolated().execute { context.close(promise: nil) }
        }
        promise.map { written.futureResult.cascade(to: $0) }
        context.write(data, promise: written)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After an error GOAWAY nothing more the client sends is looked at (the connection ends).
        if closing { return }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        backstop?.cancel()
        backstop = nil
        if let goAwayCode, !counted {
            counted = true
            metrics.h2GoAway(reason: reason ?? (goAwayCode == .noError ? "idle" : Self.name(goAwayCode))).increment()
        }
        context.fireChannelInactive()
    }

    /// Follows the frames in `buffer`; the error code of a GOAWAY that starts in it, if one does.
    private func scan(_ buffer: ByteBuffer) -> HTTP2ErrorCode? {
        var index = buffer.readerIndex
        let end = buffer.writerIndex
        if skip > 0 {
            let step = min(skip, end - index)
            skip -= step
            index += step
        }
        var found: HTTP2ErrorCode?
        while index < end {
            // A frame header (9 bytes), and for a GOAWAY the 8 bytes up to its error code.
            let available = end - index
            if !carry.isEmpty || available < 9 {
                let take = min(17 - carry.count, available)
                carry += buffer.getBytes(at: index, length: take) ?? []
                if carry.count < 9 || (carry[3] == 0x7 && carry.count < 17) {
                    return found
                }
                let length = Int(carry[0]) << 16 | Int(carry[1]) << 8 | Int(carry[2])
                if carry[3] == 0x7 {
                    found = HTTP2ErrorCode(
                        networkCode: Int(carry[13]) << 24 | Int(carry[14]) << 16 | Int(carry[15]) << 8 | Int(carry[16]))
                }
                // Where the frame's payload began, relative to this buffer.
                let payloadStart = index + take - (carry.count - 9)
                carry.removeAll(keepingCapacity: true)
                index = payloadStart
                let inHere = min(length, end - index)
                index += inHere
                skip = length - inHere
                continue
            }
            let length =
                Int(buffer.getInteger(at: index, as: UInt16.self)!) << 8
                | Int(buffer.getInteger(at: index + 2, as: UInt8.self)!)
            let type = buffer.getInteger(at: index + 3, as: UInt8.self)!
            if type == 0x7 {
                guard available >= 17 else {
                    carry += buffer.getBytes(at: index, length: available) ?? []
                    return found
                }
                found = HTTP2ErrorCode(networkCode: Int(buffer.getInteger(at: index + 13, as: UInt32.self)!))
            }
            index += 9
            let inHere = min(length, end - index)
            index += inHere
            skip = length - inHere
        }
        return found
    }

    /// The reason label for a GOAWAY's error code.
    static func name(_ code: HTTP2ErrorCode) -> String {
        switch code {
        case .noError: return "no_error"
        case .protocolError: return "protocol_error"
        case .internalError: return "internal_error"
        case .flowControlError: return "flow_control_error"
        case .settingsTimeout: return "settings_timeout"
        case .streamClosed: return "stream_closed"
        case .frameSizeError: return "frame_size_error"
        case .refusedStream: return "refused_stream"
        case .cancel: return "cancel"
        case .compressionError: return "compression_error"
        case .connectError: return "connect_error"
        case .enhanceYourCalm: return "enhance_your_calm"
        case .inadequateSecurity: return "inadequate_security"
        case .http11Required: return "http_1_1_required"
        default: return "other"
        }
    }
}
