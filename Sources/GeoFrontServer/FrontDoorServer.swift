import GeoFrontCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The public listener: accepts connections and builds each one's pipeline.
///
/// Pipeline per connection: HTTP/1.1 decoder (strict, limited to `max_request_head_bytes`) and
/// response encoder → ``ConnectionTimeoutHandler`` → pipelining (one response at a time, in
/// order) → ``RequestErrorHandler`` (400/431) → ``FrontDoorHandler`` (redirect, or proxy through
/// the event loop's ``UpstreamPool``).
public final class FrontDoorServer: Service, Sendable {
    public let publisher: SnapshotPublisher
    /// Health of targets and upstreams: active checks and outlier detection write it.
    public let healthMonitor: HealthMonitor
    public let proxyHealth: ProxyHealthReporter
    private let group: MultiThreadedEventLoopGroup
    private let ownsGroup: Bool
    private let serverChannel: any Channel
    private let logger: Logger

    /// The address actually bound (useful with port 0).
    public var localAddress: SocketAddress? { serverChannel.localAddress }

    /// Binds the listener of `snapshot.config` and starts serving.
    /// - Parameter threads: event loops; 0 uses `server.threads` from config, and when that is 0 too,
    ///   one per CPU core.
    public static func start(
        snapshot: RoutingSnapshot, threads: Int = 0, logger: Logger = Logger(label: "geofront")
    ) async throws -> FrontDoorServer {
        let configured = threads > 0 ? threads : snapshot.config.server.threads
        let count = configured > 0 ? configured : System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: count)
        do {
            return try await start(snapshot: snapshot, group: group, ownsGroup: true, logger: logger)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private static func start(
        snapshot: RoutingSnapshot, group: MultiThreadedEventLoopGroup, ownsGroup: Bool, logger: Logger
    ) async throws -> FrontDoorServer {
        let publisher = SnapshotPublisher(initial: snapshot, group: group)
        let monitor = HealthMonitor(
            regions: snapshot.config.regions, outlierDetection: snapshot.config.proxy.outlierDetection)
        let proxyHealth = ProxyHealthReporter(monitor: monitor, publisher: publisher, logger: logger)
        let tlsContext = try UpstreamTLS.context(for: snapshot.config)
        var pools: [ObjectIdentifier: NIOLoopBound<UpstreamPool>] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = try await loop.submit {
                let pool = UpstreamPool(loop: loop)
                pool.tlsContext = tlsContext
                return NIOLoopBound(pool, eventLoop: loop)
            }.get()
        }
        let loopPools = pools
        let settings = snapshot.config.server
        let limits = {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderListSize = settings.maxRequestHeadBytes
            limits.maxHeaderFieldSize = settings.maxRequestHeadBytes
            limits.maxHeaderFieldCount = 256
            return limits
        }()
        let idleTimeout = TimeAmount.milliseconds(Int64(settings.idleTimeoutMilliseconds))
        let requestTimeout = TimeAmount.milliseconds(Int64(settings.requestTimeoutMilliseconds))

        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    // The empty upgrade configuration only makes the decoder keep the bytes that
                    // follow an upgrade request (a proxied WebSocket's first frames); the upgrade
                    // itself is the origin's to accept, and proxy mode tunnels it.
                    try pipeline.configureHTTPServerPipeline(
                        withPipeliningAssistance: true, withServerUpgrade: (upgraders: [], completionHandler: { _ in }),
                        withErrorHandling: false, withEncoderConfiguration: .init(),
                        withDecoderLimitConfiguration: limits)
                    let pipelining = try pipeline.handler(type: HTTPServerPipelineHandler.self)
                    try pipeline.addHandler(
                        ConnectionTimeoutHandler(idleTimeout: idleTimeout, requestTimeout: requestTimeout),
                        position: .before(pipelining))
                    try pipeline.addHandler(RequestErrorHandler())
                    let pool = loopPools[ObjectIdentifier(channel.eventLoop)]!.value
                    try pipeline.addHandler(
                        FrontDoorHandler(
                            snapshots: publisher.box(for: channel.eventLoop), pool: pool, health: proxyHealth))
                }
            }
        let listen = snapshot.config.listen
        let channel = try await bootstrap.bind(host: listen.host, port: listen.port).get()
        let server = FrontDoorServer(
            publisher: publisher, healthMonitor: monitor, proxyHealth: proxyHealth, group: group,
            ownsGroup: ownsGroup, serverChannel: channel, logger: logger)
        logger.info(
            "listening",
            metadata: [
                "address": "\(channel.localAddress.map { "\($0)" } ?? "?")"
            ])
        return server
    }

    private init(
        publisher: SnapshotPublisher, healthMonitor: HealthMonitor, proxyHealth: ProxyHealthReporter,
        group: MultiThreadedEventLoopGroup, ownsGroup: Bool, serverChannel: any Channel, logger: Logger
    ) {
        self.publisher = publisher
        self.healthMonitor = healthMonitor
        self.proxyHealth = proxyHealth
        self.group = group
        self.ownsGroup = ownsGroup
        self.serverChannel = serverChannel
        self.logger = logger
    }

    /// Serves until graceful shutdown (SIGTERM/SIGINT under a `ServiceGroup`), then stops.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await serverChannel.closeFuture.get()
        } onGracefulShutdown: {
            self.serverChannel.close(promise: nil)
        }
        if ownsGroup { try await group.shutdownGracefully() }
    }

    /// The event loops, shared with health checks.
    public var eventLoopGroup: any EventLoopGroup { group }

    /// Resolves when the listener closes.
    public func waitUntilClosed() async throws {
        try await serverChannel.closeFuture.get()
    }

    /// Stops accepting and closes the listener, then the event loops.
    public func stop() async throws {
        try? await serverChannel.close()
        if ownsGroup { try await group.shutdownGracefully() }
    }
}
