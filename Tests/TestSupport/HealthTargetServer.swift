import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A small HTTP server on 127.0.0.1 playing a health-check target whose behaviour a test sets:
/// answer with a status, alternate 200/500, accept and never answer, or be down (port closed).
/// With `tls` it serves HTTPS with that certificate and key.
public final class HealthTargetServer: Sendable {
    public enum Behaviour: Sendable {
        case status(Int)
        /// 200, 500, 200, 500, … one per request.
        case alternating
        /// Accepts the connection, reads the request, never answers.
        case hang
        /// 503 to a request whose `User-Agent` contains one of these strings, 200 to the others:
        /// a target that some fleet instances (`GeoFront-HealthCheck/ID`) see down.
        case failing(userAgents: [String])
    }

    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let state: NIOLockedValueBox<(behaviour: Behaviour, channel: (any Channel)?, requests: Int)>
    private let tls: NIOSSLContext?

    /// Starts on an ephemeral port.
    /// - Parameter tls: serve HTTPS with this certificate and key (PEM files).
    public init(_ behaviour: Behaviour = .status(200), tls: (certificate: String, key: String)? = nil) throws {
        if let tls {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.key, format: .pem)))
            self.tls = try NIOSSLContext(configuration: configuration)
        } else {
            self.tls = nil
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        state = NIOLockedValueBox((behaviour, nil, 0))
        let channel = try Self.bind(port: 0, group: group, state: state, tls: self.tls)
        port = channel.localAddress!.port!
        state.withLockedValue { $0.channel = channel }
    }

    public var behaviour: Behaviour {
        get { state.withLockedValue { $0.behaviour } }
        set { state.withLockedValue { $0.behaviour = newValue } }
    }

    /// Requests answered or held so far.
    public var requests: Int { state.withLockedValue { $0.requests } }

    /// Closes the listening socket: connections are refused until ``start()``.
    public func stop() throws {
        let channel = state.withLockedValue { state -> (any Channel)? in
            defer { state.channel = nil }
            return state.channel
        }
        try channel?.close().wait()
    }

    /// Listens again on the same port.
    public func start() throws {
        let channel = try Self.bind(port: port, group: group, state: state, tls: tls)
        state.withLockedValue { $0.channel = channel }
    }

    public func shutdown() {
        try? stop()
        try? group.syncShutdownGracefully()
    }

    private static func bind(
        port: Int, group: MultiThreadedEventLoopGroup,
        state: NIOLockedValueBox<(behaviour: Behaviour, channel: (any Channel)?, requests: Int)>, tls: NIOSSLContext?
    ) throws -> any Channel {
        try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(TargetHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
    }
}

private final class TargetHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let state: NIOLockedValueBox<(behaviour: HealthTargetServer.Behaviour, channel: (any Channel)?, requests: Int)>

    init(state: NIOLockedValueBox<(behaviour: HealthTargetServer.Behaviour, channel: (any Channel)?, requests: Int)>) {
        self.state = state
    }

    private var userAgent = ""

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .head(let head) = part { userAgent = head.headers.first(name: "User-Agent") ?? "" }
        guard case .end = part else { return }
        let userAgent = self.userAgent
        let status: Int? = state.withLockedValue { state in
            state.requests += 1
            switch state.behaviour {
            case .status(let code): return code
            case .alternating: return state.requests % 2 == 1 ? 200 : 500
            case .hang: return nil
            case .failing(let agents): return agents.contains { userAgent.contains($0) } ? 503 : 200
            }
        }
        guard let status else { return }
        let body = "status \(status)\n"
        let head = HTTPResponseHead(
            version: .http1_1, status: HTTPResponseStatus(statusCode: status),
            headers: ["Content-Length": "\(body.utf8.count)", "Connection": "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
