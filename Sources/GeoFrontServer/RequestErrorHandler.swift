import NIOCore
import NIOHTTP1

/// Answers requests the HTTP/1.1 decoder rejects, then closes the connection: 431 when the head
/// is larger than `max_request_head_bytes`, 400 for anything else malformed (bad request line,
/// bad header syntax, conflicting framing). If the request was already answered (redirects are
/// sent as soon as the head arrives) and only its body turns out malformed, the connection is
/// closed without a second response. Other connections are unaffected.
final class RequestErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var responseInProgress = false
    /// A request head arrived and its end has not: a decoder error now is in its body.
    private var requestBodyPending = false
    /// The request whose body is pending has been answered already.
    private var answeredPendingRequest = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestBodyPending = true
            answeredPendingRequest = false
        case .body:
            break
        case .end:
            requestBodyPending = false
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // A connection that has closed (its decoder found an unfinished request in what was left
        // when it went away, e.g. after a graceful-shutdown close) can carry no answer: writing
        // one would reach HTTPServerPipelineHandler after it finished quiescing.
        guard context.channel.isActive, !responseInProgress, !(requestBodyPending && answeredPendingRequest) else {
            // A response is half written, or this request was answered already: the connection
            // cannot carry an error response any more.
            context.close(promise: nil)
            return
        }
        let status: HTTPResponseStatus =
            parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
        writeErrorAndClose(context: context, status: status)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200:
            responseInProgress = true
        case .end:
            responseInProgress = false
            if requestBodyPending { answeredPendingRequest = true }
        case .head, .body:
            break
        }
        context.write(data, promise: promise)
    }

    private func writeErrorAndClose(context: ChannelHandlerContext, status: HTTPResponseStatus) {
        let body = "\(status.code) \(status.reasonPhrase)\n"
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        let head = HTTPResponseHead(
            version: .http1_1, status: status,
            headers: [
                "Content-Type": "text/plain; charset=utf-8", "Content-Length": "\(buffer.readableBytes)",
                "Connection": "close", "Cache-Control": "no-store",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }
}
