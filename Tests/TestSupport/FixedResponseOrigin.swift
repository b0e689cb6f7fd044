import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An origin on 127.0.0.1 that answers every request, whatever its method or path, with the same
/// pre-built response (status, fields, body), keeping the connection alive when the request
/// allows it. For load tests that need any number of distinct URLs answered cheaply.
public final class FixedResponseOrigin: Sendable {
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let counter = NIOLockedValueBox(0)

    /// - Parameter headers: the response's fields; `Content-Length` and `Connection` are added.
    public init(status: Int = 200, headers: [(String, String)] = [], body: [UInt8], threads: Int = 1) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let response = FixedResponse(
            status: HTTPResponseStatus(statusCode: status), headers: HTTPHeaders(headers),
            body: ByteBuffer(bytes: body))
        let counter = counter
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        FixedResponseHandler(response: response, counter: counter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress!.port!
    }

    public var address: String { "127.0.0.1:\(port)" }
    /// Requests answered so far.
    public var requests: Int { counter.withLockedValue { $0 } }

    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

private struct FixedResponse: Sendable {
    let status: HTTPResponseStatus
    let headers: HTTPHeaders
    let body: ByteBuffer
}

private final class FixedResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let response: FixedResponse
    let counter: NIOLockedValueBox<Int>
    var keepAlive = true
    var isHead = false

    init(response: FixedResponse, counter: NIOLockedValueBox<Int>) {
        self.response = response
        self.counter = counter
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            keepAlive = request.isKeepAlive
            isHead = request.method == .HEAD
        case .body:
            break
        case .end:
            counter.withLockedValue { $0 += 1 }
            var headers = response.headers
            headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.readableBytes)")
            headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))),
                promise: nil)
            if !isHead { context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil) }
            let keepAlive = keepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
