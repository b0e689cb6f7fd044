import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An origin server on 127.0.0.1 for proxy tests. By default it answers every request with 200
/// and a JSON body naming itself and echoing what it saw (method, target, headers, body size).
public final class TestUpstream: Sendable {
    public enum Behaviour: Sendable {
        case echo
        /// Answer with this status (and the echo body).
        case status(Int)
        /// Wait this long before answering.
        case slow(milliseconds: Int)
        /// Send the head and part of the body, then close.
        case closeMidResponse
        /// Stream this many bytes of body, with backpressure.
        case download(bytes: Int)
        /// Read the request, never answer.
        case hang
        /// Close the connection as soon as the request head arrives.
        case closeOnHead
        /// Read the request and answer (as `echo`) only when the test calls ``release()``: a
        /// slow upstream whose slowness does not depend on the clock.
        case held
    }

    public struct Seen: Sendable {
        public let method: String
        public let uri: String
        public let headers: [(String, String)]
        public let bodyBytes: Int
        /// The request's chunked trailer fields (none when it had none).
        public var trailers: [(String, String)] = []
    }

    public let name: String
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let state: NIOLockedValueBox<State>

    struct State {
        var behaviour: Behaviour
        var channel: (any Channel)?
        var seen: [Seen] = []
        var connections = 0
        var openConnections = 0
        /// Answers `held` requests are waiting for.
        var held: [@Sendable () -> Void] = []
        var released = false
    }

    private let tls: NIOSSLContext?

    /// - Parameter tls: serve HTTPS with this certificate and key (PEM files).
    public init(
        name: String, _ behaviour: Behaviour = .echo, port: Int = 0, tls: (certificate: String, key: String)? = nil
    )
        throws
    {
        self.name = name
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        state = NIOLockedValueBox(State(behaviour: behaviour, channel: nil))
        if let tls {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.key, format: .pem)))
            self.tls = try NIOSSLContext(configuration: configuration)
        } else {
            self.tls = nil
        }
        let channel = try Self.bind(name: name, port: port, group: group, state: state, tls: self.tls)
        self.port = channel.localAddress!.port!
        state.withLockedValue { $0.channel = channel }
    }

    public var address: String { "127.0.0.1:\(port)" }

    public var behaviour: Behaviour {
        get { state.withLockedValue { $0.behaviour } }
        set { state.withLockedValue { $0.behaviour = newValue } }
    }

    /// Requests received so far (complete heads), in order.
    public var seen: [Seen] { state.withLockedValue { $0.seen } }
    /// TCP connections accepted so far.
    public var connections: Int { state.withLockedValue { $0.connections } }
    /// TCP connections accepted and not closed yet.
    public var openConnections: Int { state.withLockedValue { $0.openConnections } }

    /// Lets every `held` request waiting now, and every later one, be answered.
    public func release() {
        let waiting = state.withLockedValue { state in
            state.released = true
            defer { state.held = [] }
            return state.held
        }
        for answer in waiting { answer() }
    }

    /// Stops listening (new connections are refused); open connections are closed too.
    public func stop() throws {
        let channel = state.withLockedValue { state -> (any Channel)? in
            defer { state.channel = nil }
            return state.channel
        }
        try channel?.close().wait()
    }

    public func start() throws {
        let channel = try Self.bind(name: name, port: port, group: group, state: state, tls: tls)
        state.withLockedValue { $0.channel = channel }
    }

    public func shutdown() {
        try? stop()
        try? group.syncShutdownGracefully()
    }

    private static func bind(
        name: String, port: Int, group: MultiThreadedEventLoopGroup, state: NIOLockedValueBox<State>,
        tls: NIOSSLContext?
    ) throws -> any Channel {
        try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                state.withLockedValue {
                    $0.connections += 1
                    $0.openConnections += 1
                }
                channel.closeFuture.whenComplete { _ in state.withLockedValue { $0.openConnections -= 1 } }
                // Closing the listener (stop()) also closes the connections it accepted.
                let parent = state.withLockedValue { $0.channel }
                parent?.closeFuture.whenComplete { _ in channel.close(promise: nil) }
                return channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(UpstreamServerHandler(name: name, state: state))
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
    }
}

private final class UpstreamServerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let name: String
    let state: NIOLockedValueBox<TestUpstream.State>
    var head: HTTPRequestHead?
    var bodyBytes = 0

    init(name: String, state: NIOLockedValueBox<TestUpstream.State>) {
        self.name = name
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
            bodyBytes = 0
            let behaviour = state.withLockedValue { $0.behaviour }
            if case .closeOnHead = behaviour {
                context.close(promise: nil)
                return
            }
            if request.headers["expect"].first?.lowercased() == "100-continue" {
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
            }
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end(let trailers):
            guard let head else { return }
            let seen = TestUpstream.Seen(
                method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                bodyBytes: bodyBytes, trailers: trailers.map { $0.map { ($0.name, $0.value) } } ?? [])
            let behaviour = state.withLockedValue { state in
                state.seen.append(seen)
                return state.behaviour
            }
            respond(context: context, seen: seen, behaviour: behaviour, keepAlive: head.isKeepAlive)
        }
    }

    private func echoBody(_ seen: TestUpstream.Seen) -> ByteBuffer {
        let object: [String: Any] = [
            "name": name, "method": seen.method, "uri": seen.uri,
            "headers": seen.headers.map { [$0.0, $0.1] }, "body_bytes": seen.bodyBytes,
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return ByteBuffer(bytes: data)
    }

    private func respond(
        context: ChannelHandlerContext, seen: TestUpstream.Seen, behaviour: TestUpstream.Behaviour, keepAlive: Bool
    ) {
        let channel = context.channel
        switch behaviour {
        case .echo, .status:
            var status = 200
            if case .status(let code) = behaviour { status = code }
            let body = echoBody(seen)
            var headers: HTTPHeaders = [
                "Content-Type": "application/json", "Content-Length": "\(body.readableBytes)",
                "Server": "test-origin/1.0", "X-Upstream": name,
            ]
            headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            headers.add(name: "Keep-Alive", value: "timeout=60")
            context.write(
                wrapOutboundOut(
                    .head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))),
                promise: nil)
            if seen.method != "HEAD" { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        case .slow(let milliseconds):
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(Int64(milliseconds))) {
                let (handler, context) = loopBound.value
                guard context.channel.isActive else { return }
                handler.respond(context: context, seen: seen, behaviour: .echo, keepAlive: keepAlive)
            }
        case .closeMidResponse:
            let headers: HTTPHeaders = ["Content-Length": "100000", "X-Upstream": name]
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil
            )
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(repeating: 0x61, count: 1000)))))
                .whenComplete { _ in
                    channel.close(promise: nil)
                }
        case .download(let bytes):
            let headers: HTTPHeaders = ["Content-Length": "\(bytes)", "X-Upstream": name]
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil
            )
            let chunk = ByteBuffer(repeating: 0x62, count: 64 * 1024)
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            @Sendable func send(_ remaining: Int) {
                let (handler, context) = loopBound.value
                guard remaining > 0 else {
                    context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
                    return
                }
                let slice = chunk.getSlice(at: 0, length: min(remaining, chunk.readableBytes))!
                context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(slice)))).whenSuccess {
                    send(remaining - slice.readableBytes)
                }
            }
            send(bytes)
        case .held:
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            let answer: @Sendable () -> Void = {
                eventLoop.execute {
                    let (handler, context) = loopBound.value
                    guard context.channel.isActive else { return }
                    handler.respond(context: context, seen: seen, behaviour: .echo, keepAlive: keepAlive)
                }
            }
            let now = state.withLockedValue { state in
                if !state.released { state.held.append(answer) }
                return state.released
            }
            if now { answer() }
        case .hang, .closeOnHead:
            break
        }
    }
}
