import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An origin on 127.0.0.1 that answers each request head (bodies are not expected) with the next
/// of its scripted responses, byte for byte, so tests control framing exactly: chunked bodies,
/// no length, 1xx, malformed heads. `closeAfter` closes the connection after that response.
public final class ScriptedUpstream: Sendable {
    public struct Response: Sendable {
        public var bytes: String
        public var closeAfter: Bool

        public init(_ bytes: String, closeAfter: Bool = false) {
            self.bytes = bytes
            self.closeAfter = closeAfter
        }
    }

    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let state: NIOLockedValueBox<State>
    private let channel: any Channel

    struct State {
        var script: [Response]
        var next = 0
        var heads: [String] = []
        var connections = 0
    }

    public init(_ script: [Response]) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = NIOLockedValueBox(State(script: script))
        self.state = state
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                state.withLockedValue { $0.connections += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedUpstreamHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress!.port!
    }

    public var address: String { "127.0.0.1:\(port)" }
    /// Request heads received, in order.
    public var heads: [String] { state.withLockedValue { $0.heads } }
    /// TCP connections accepted so far.
    public var connections: Int { state.withLockedValue { $0.connections } }

    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

private final class ScriptedUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let state: NIOLockedValueBox<ScriptedUpstream.State>
    private var received = ""

    init(state: NIOLockedValueBox<ScriptedUpstream.State>) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += String(buffer: unwrapInboundIn(data))
        while let end = received.range(of: "\r\n\r\n") {
            let head = String(received[..<end.upperBound])
            received = String(received[end.upperBound...])
            let response = state.withLockedValue { state -> ScriptedUpstream.Response in
                state.heads.append(head)
                defer { state.next += 1 }
                return state.script[state.next % state.script.count]
            }
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response.bytes))).whenComplete { _ in
                if response.closeAfter { channel.close(promise: nil) }
            }
            if response.closeAfter { return }
        }
    }
}
