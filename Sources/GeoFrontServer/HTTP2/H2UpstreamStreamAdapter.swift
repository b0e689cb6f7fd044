import GeoFrontCore
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// One HTTP/2 stream to an upstream (`"protocol": "h2"`) as one HTTP/1.1 exchange, first in the
/// stream's child channel with the ordinary ``ByteUpstreamHandler`` after it: the mirror of
/// ``H2ServerStream``, so the exchange driver writes and reads HTTP/1.1 bytes whichever protocol
/// the upstream speaks.
///
/// Outbound, the request head the driver writes is parsed strictly (``RequestHeadParser``) into a
/// HEADERS frame (RFC 9113 §8.3.1: `:method`, `:scheme`, `:authority` from `Host`, `:path`; the
/// other fields lower-cased, without the connection-specific ones, and `te: trailers`, since
/// GeoFront takes trailers from an HTTP/2 upstream), and its body, de-chunked, into DATA frames;
/// END_STREAM where the body ends.
///
/// Inbound, HEADERS become an HTTP/1.1 response head (interim heads too), DATA its body: under the
/// upstream's `content-length` as they are, else as chunks, so that trailers (gRPC's
/// `grpc-status`) can follow in the chunked body's trailer section.
///
/// gRPC: a call's `grpc-timeout` is a deadline from the moment the stream opens. When it passes,
/// the call is answered `DEADLINE_EXCEEDED` (trailers-only, or as trailers after a response that
/// has begun) and the upstream stream is cancelled (RST_STREAM `CANCEL`). When the upstream resets
/// the stream or its connection dies after the response began, the call ends with `UNAVAILABLE`
/// in trailers rather than cut, so the client learns what happened.
final class H2UpstreamStreamAdapter: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum Request {
        /// Bytes of a head not yet complete.
        case head(ByteBuffer?)
        case body(MessageBodyReader)
        case done
    }

    private enum Response {
        case head
        /// Chunked: DATA frames become chunks, trailers the trailer section.
        case body(chunked: Bool)
        case done
    }

    private let scheme: String
    private var request = Request.head(nil)
    private var response = Response.head
    private var requestWasHEAD = false
    private var grpc = false
    private var deadline: Scheduled<Void>?

    struct MalformedRequest: Error {}

    init(tls: Bool) {
        scheme = tls ? "https" : "http"
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    // MARK: - Request

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = unwrapOutboundIn(data)
        switch request {
        case .done:
            promise?.succeed()
        case .head(let earlier):
            if var earlier {
                earlier.writeBuffer(&buffer)
                buffer = earlier
            }
            var head = RequestHead()
            let parsed = buffer.withUnsafeReadableBytes { bytes -> Result<HPACKHeaders?, MalformedRequest> in
                do {
                    guard try RequestHeadParser.parse(bytes, limit: 1 << 20, into: &head) == .complete else {
                        return .success(nil)
                    }
                } catch {
                    return .failure(MalformedRequest())
                }
                return .success(fields(bytes, head))
            }
            guard case .success(let fields) = parsed else {
                promise?.fail(MalformedRequest())
                context.close(promise: nil)
                return
            }
            guard let fields else {
                request = .head(buffer)
                promise?.succeed()
                return
            }
            buffer.moveReaderIndex(forwardBy: head.length)
            grpc = head.isGRPC
            if grpc, let timeout = fields.first(name: "grpc-timeout"),
                let milliseconds = GRPCStatus.timeoutMilliseconds(Array(timeout.utf8))
            {
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(milliseconds))) {
                    let (adapter, context) = bound.value
                    adapter.deadlinePassed(context: context)
                }
            }
            let reader = MessageBodyReader(request: head.body)
            request = reader.isDone ? .done : .body(reader)
            context.write(wrapOutboundOut(.headers(.init(headers: fields, endStream: reader.isDone))), promise: nil)
            if case .body = request, buffer.readableBytes > 0 {
                writeBody(context: context, buffer, promise: promise)
            } else {
                promise?.succeed()
            }
        case .body:
            writeBody(context: context, buffer, promise: promise)
        }
    }

    /// Body bytes (with their HTTP/1.1 framing) as DATA frames; END_STREAM at the body's end.
    private func writeBody(context: ChannelHandlerContext, _ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard case .body(var reader) = request else {
            promise?.succeed()
            return
        }
        var last: ByteBuffer?
        let start = buffer.readerIndex
        let outcome = buffer.withUnsafeReadableBytes { bytes -> Result<MessageBodyReader.Outcome, RequestHeadError> in
            do throws(RequestHeadError) {
                return .success(
                    try reader.consume(bytes) { range in
                        if let earlier = last {
                            context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(earlier)))), promise: nil)
                        }
                        last = buffer.getSlice(at: start + range.lowerBound, length: range.count)
                    })
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .failure:
            promise?.fail(MalformedRequest())
            context.close(promise: nil)
        case .success(.needMore):
            request = .body(reader)
            if let last {
                context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(last)))), promise: promise)
            } else {
                promise?.succeed()
            }
        case .success(.done):
            request = .done
            context.write(
                wrapOutboundOut(.data(.init(data: .byteBuffer(last ?? ByteBuffer()), endStream: true))),
                promise: promise)
        }
    }

    /// The HEADERS of a request head.
    private func fields(_ bytes: UnsafeRawBufferPointer, _ head: RequestHead) -> HPACKHeaders {
        var fields = HPACKHeaders()
        fields.reserveCapacity(16)
        let method = String(decoding: head.method.bytes(in: bytes), as: UTF8.self)
        requestWasHEAD = method == "HEAD"
        fields.add(name: ":method", value: method)
        fields.add(name: ":scheme", value: scheme)
        var authority = ""
        var rest: [(String, String)] = []
        // The field lines start after the request line.
        var index = head.target.start + head.target.count
        while index + 1 < head.length, !(bytes[index] == 13 && bytes[index + 1] == 10) { index += 1 }
        index += 2
        while let field = try? FieldLines.next(bytes, at: &index, end: head.length) {
            if FieldLines.equals(bytes, field.name, "host") {
                authority = String(decoding: field.value.bytes(in: bytes), as: UTF8.self)
                continue
            }
            if HopByHop.contains(bytes, field.name) || HopByHop.isNamed(bytes, field.name, in: head.connectionNames) {
                continue
            }
            rest.append(
                (
                    String(decoding: field.name.bytes(in: bytes), as: UTF8.self).lowercased(),
                    String(decoding: field.value.bytes(in: bytes), as: UTF8.self)
                ))
        }
        fields.add(name: ":authority", value: authority)
        fields.add(name: ":path", value: String(decoding: head.target.bytes(in: bytes), as: UTF8.self))
        fields.add(name: "te", value: "trailers")
        for (name, value) in rest { fields.add(name: name, value: value) }
        return fields
    }

    // MARK: - Response

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), response) {
        case (.headers(let block), .head):
            guard let statusText = block.headers.first(name: ":status"), let status = Int(statusText) else {
                context.close(promise: nil)
                return
            }
            var out = context.channel.allocator.buffer(capacity: 256)
            out.writeStaticString("HTTP/1.1 ")
            out.writeString(statusText)
            out.writeStaticString(" ")
            // NIOHTTP1's reason phrases (any text is allowed there; clients ignore it).
            out.writeString(HTTPResponseStatus(statusCode: status).reasonPhrase)
            out.writeStaticString("\r\n")
            let hasLength = Self.writeFields(block.headers, to: &out)
            if status < 200 {
                // 100 Continue, 103 Early Hints (HTTP/2 has no 101): the final head follows.
                out.writeStaticString("\r\n")
                context.fireChannelRead(wrapInboundOut(out))
                return
            }
            let bodiless = requestWasHEAD || status == 204 || status == 304
            if block.endStream {
                response = .done
                if !hasLength && !bodiless { out.writeStaticString("content-length: 0\r\n") }
            } else if hasLength || bodiless {
                response = .body(chunked: false)
            } else {
                response = .body(chunked: true)
                out.writeStaticString("transfer-encoding: chunked\r\n")
            }
            out.writeStaticString("\r\n")
            context.fireChannelRead(wrapInboundOut(out))
        case (.data(let frame), .body(let chunked)):
            guard case .byteBuffer(var bytes) = frame.data else { return }
            if frame.endStream { response = .done }
            if chunked {
                bytes = ChunkedDATA.chunk(bytes, last: frame.endStream, allocator: context.channel.allocator)
            }
            if bytes.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(bytes)) }
        case (.headers(let trailers), .body(let chunked)):
            // Trailers end the stream (NIOHTTP2 has checked); under a content-length they have
            // nowhere to go in HTTP/1.1 and are dropped.
            response = .done
            guard chunked else { return }
            var out = context.channel.allocator.buffer(capacity: 128)
            out.writeStaticString("0\r\n")
            Self.writeFields(trailers.headers, to: &out)
            out.writeStaticString("\r\n")
            context.fireChannelRead(wrapInboundOut(out))
        case (.rstStream, .body(chunked: true)) where grpc:
            endCall(context: context, .unavailable, "GeoFront: upstream reset the stream")
        default:
            // WINDOW_UPDATE, PRIORITY and the like are NIOHTTP2's; a reset before the response
            // closes the stream, which the driver sees as the upstream closing.
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The upstream's connection died in the middle of a gRPC response.
        if grpc, case .body(chunked: true) = response {
            endCall(context: context, .unavailable, "GeoFront: upstream connection lost")
        }
        context.fireChannelInactive()
    }

    /// `grpc-timeout` passed: the call is answered DEADLINE_EXCEEDED and the upstream stream
    /// cancelled.
    private func deadlinePassed(context: ChannelHandlerContext) {
        deadline = nil
        switch response {
        case .head:
            response = .done
            context.fireChannelRead(
                wrapInboundOut(
                    LocalResponses.grpc(
                        context.channel.allocator, status: 504, code: .deadlineExceeded,
                        message: "GeoFront: deadline exceeded", keepAlive: true)))
        case .body(chunked: true):
            endCall(context: context, .deadlineExceeded, "GeoFront: deadline exceeded")
        case .body(chunked: false), .done:
            break
        }
        cancel(context: context)
    }

    /// Ends a chunked gRPC response with `code` in its trailers.
    private func endCall(context: ChannelHandlerContext, _ code: GRPCStatus, _ message: StaticString) {
        response = .done
        var out = context.channel.allocator.buffer(capacity: 96)
        out.writeStaticString("0\r\ngrpc-status: ")
        out.writeString(String(code.rawValue))
        out.writeStaticString("\r\ngrpc-message: ")
        out.writeStaticString(message)
        out.writeStaticString("\r\n\r\n")
        context.fireChannelRead(wrapInboundOut(out))
        context.fireChannelReadComplete()
    }

    /// Closes the stream: NIOHTTP2 sends RST_STREAM `CANCEL` for a stream still open, and the
    /// upstream stops working on the call.
    private func cancel(context: ChannelHandlerContext) {
        request = .done
        context.close(promise: nil)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        deadline?.cancel()
        deadline = nil
        context.close(mode: mode, promise: promise)
    }

    /// Writes `headers` but the pseudo-header fields as HTTP/1.1 field lines; true when one of
    /// them is `content-length`.
    @discardableResult
    private static func writeFields(_ headers: HPACKHeaders, to out: inout ByteBuffer) -> Bool {
        var hasLength = false
        for (name, value, _) in headers where name.utf8.first != UInt8(ascii: ":") {
            if name == "content-length" { hasLength = true }
            out.writeString(name)
            out.writeStaticString(": ")
            out.writeString(value)
            out.writeStaticString("\r\n")
        }
        return hasLength
    }
}
