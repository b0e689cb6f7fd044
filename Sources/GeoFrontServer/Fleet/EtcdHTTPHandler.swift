import Foundation
import NIOCore
import NIOHTTP1

/// One request to etcd's JSON gateway on a connection of its own: writes the request once the
/// connection is up, then hands the response body to `continuation`, either whole (`.whole`) or
/// as the newline-delimited JSON objects of a streaming call (`.lines`, as `/v3/watch` answers).
/// The framing is NIO's strict HTTP/1.1 parser; a status other than 200 fails the stream with
/// etcd's message, and no response or line may grow past `limit` bytes.
final class EtcdHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    enum Mode {
        case whole
        case lines
    }

    private let head: HTTPRequestHead
    private let body: ByteBuffer
    private let mode: Mode
    private let limit: Int
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private var status: HTTPResponseStatus?
    private var buffer: [UInt8] = []
    private var done = false

    init(
        head: HTTPRequestHead, body: ByteBuffer, mode: Mode, limit: Int,
        continuation: AsyncThrowingStream<Data, any Error>.Continuation
    ) {
        self.head = head
        self.body = body
        self.mode = mode
        self.limit = limit
        self.continuation = continuation
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let response):
            status = response.status
        case .body(let part):
            guard buffer.count + part.readableBytes <= limit else {
                fail(context, EtcdError("etcd's response is larger than \(limit) bytes"))
                return
            }
            buffer.append(contentsOf: part.readableBytesView)
            if mode == .lines, status == .ok { emitLines() }
        case .end:
            guard let status, status == .ok else {
                let text = String(decoding: buffer, as: UTF8.self)
                fail(context, EtcdError.fromResponse(status: Int(status?.code ?? 0), body: text))
                return
            }
            if mode == .lines {
                emitLines()
                if buffer.contains(where: { !Self.isSpace($0) }) { continuation.yield(Data(buffer)) }
            } else {
                continuation.yield(Data(buffer))
            }
            done = true
            continuation.finish()
            context.close(promise: nil)
        }
    }

    private func emitLines() {
        while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            let line = buffer[..<newline]
            if line.contains(where: { !Self.isSpace($0) }) { continuation.yield(Data(line)) }
            buffer.removeSubrange(...newline)
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, EtcdError("\(error)"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            continuation.finish(throwing: EtcdError("etcd closed the connection before the response ended"))
        }
        context.fireChannelInactive()
    }

    private func fail(_ context: ChannelHandlerContext, _ error: EtcdError) {
        guard !done else { return }
        done = true
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }
}
