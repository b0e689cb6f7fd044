import GeoFrontCore
import GeoIP
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The public listener: accepts connections and builds each one's pipeline.
///
/// Pipeline per connection: ``SendTimeoutHandler`` → ``ProxyProtocolHandler`` (with
/// `proxy_protocol`) → on the TLS listener ``PlainHTTPOnTLSPortHandler`` and NIOSSL's server
/// handler → ``HTTP1FrontEnd`` (every request: answered there, or proxied by its
/// ``ProxyExchangeDriver`` through the event loop's ``UpstreamPool``). Where HTTP/2 is on (ALPN
/// `h2` in `tls.alpn`, `server.h2c`), a ``ProtocolSelector`` comes first and builds either that
/// or the HTTP/2 connection (``ClientPipeline/addHTTP2(to:peer:)``), whose every stream gets its
/// own ``HTTP1FrontEnd`` on the connection's ``H2StreamHost``.
///
/// Under a `ServiceGroup`, graceful shutdown stops accepting, lets requests in flight finish
/// (keep-alive connections close after their current response), and cuts whatever is left
/// after `server.shutdown_grace_ms`.
public final class FrontDoorServer: Service, Sendable {
    public let publisher: SnapshotPublisher
    /// Health of targets and upstreams: active checks and outlier detection write it; reloads
    /// replace its monitor.
    public let health: HealthRegistry
    public let proxyHealth: ProxyHealthReporter
    /// Rollbacks and runtime weight changes of routes: logged, counted, published.
    public let routeEvents: RouteEvents
    public let metrics: GeoFrontMetrics
    /// The response cache (`cache`), kept across reloads.
    public let caches: CacheRegistry
    private let loops: [ObjectIdentifier: NIOLoopBound<LoopState>]
    private let group: MultiThreadedEventLoopGroup
    private let ownsGroup: Bool
    private let serverChannel: any Channel
    /// One per listener (plain, then TLS). Released before the event loops stop: a helper's
    /// deinit completes a promise on its loop, which must still be running then.
    private let quiescingHelpers: NIOLockedValueBox<[ServerQuiescingHelper]>
    /// The TLS listener, when `tls` is configured.
    private let secureChannel: (any Channel)?
    /// The TLS listener's certificates (replaced by reloads).
    let certificates: ListenerCertificates?
    private let accessLog: AccessLog?
    private let logger: Logger

    /// The address actually bound (useful with port 0).
    public var localAddress: SocketAddress? { serverChannel.localAddress }
    /// The TLS listener's address, when there is one.
    public var secureAddress: SocketAddress? { secureChannel?.localAddress }

    /// The current health monitor.
    public var healthMonitor: HealthMonitor { health.monitor }

    /// Binds the listener of `snapshot.config` and starts serving.
    /// - Parameter threads: event loops; 0 uses `server.threads` from config, and when that is 0 too,
    ///   one per CPU core.
    public static func start(
        snapshot: RoutingSnapshot, threads: Int = 0, logger: Logger = Logger(label: "geofront"),
        metrics: GeoFrontMetrics = GeoFrontMetrics()
    ) async throws -> FrontDoorServer {
        let configured = threads > 0 ? threads : snapshot.config.server.threads
        let count = configured > 0 ? configured : System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: count)
        do {
            return try await start(snapshot: snapshot, group: group, logger: logger, metrics: metrics)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private static func start(
        snapshot: RoutingSnapshot, group: MultiThreadedEventLoopGroup, logger: Logger, metrics: GeoFrontMetrics
    ) async throws -> FrontDoorServer {
        let publisher = SnapshotPublisher(initial: snapshot, group: group)
        let health = HealthRegistry(
            HealthMonitor(
                regions: snapshot.config.deployments, outlierDetection: snapshot.config.proxy.outlierDetection))
        let proxyHealth = ProxyHealthReporter(registry: health, publisher: publisher, logger: logger)
        let routeEvents = RouteEvents(publisher: publisher, metrics: metrics, logger: logger)
        let upstreamTLS = try UpstreamTLS.contexts(for: snapshot.config)
        let accessLog = try snapshot.config.accessLog.map { try AccessLog(settings: $0) }
        let caches = CacheRegistry(metrics: metrics)
        var loops: [ObjectIdentifier: NIOLoopBound<LoopState>] = [:]
        for loop in group.makeIterator() {
            loops[ObjectIdentifier(loop)] = try await loop.submit {
                let state = LoopState(loop: loop, metrics: metrics, accessLog: accessLog)
                state.routeEvents = routeEvents
                state.caches = caches
                state.setUpstreamTLS(upstreamTLS)
                // Connected before the first request, which would otherwise be `on_error`'s.
                if let store = snapshot.config.rateLimit?.store { _ = state.redisStore(for: store) }
                return NIOLoopBound(state, eventLoop: loop)
            }.get()
        }
        let loopStates = loops
        let openConnections = metrics.openConnections
        let limiter = ConnectionLimiter()

        /// A listener's bootstrap; `tls` set for the HTTPS listener.
        /// `h2OverTLS`: the TLS listener offers `h2` in ALPN.
        @Sendable func bootstrap(
            quiescing: ServerQuiescingHelper, tls: NIOSSLContext?, h2OverTLS: Bool = false, httpsPort: Int?
        ) -> ServerBootstrap {
            return ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            quiescing.makeServerChannelHandler(channel: channel))
                    }
                }
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelOption(
                    .recvAllocator,
                    value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536)
                )
                .childChannelInitializer { channel in
                    let snapshots = publisher.box(for: channel.eventLoop)
                    let current = snapshots.value
                    let peer = IPAddress(channel.remoteAddress) ?? IPAddress(v4: 0)
                    switch limiter.acquire(peer, settings: current.config.server) {
                    case .accepted:
                        break
                    case .overTotal:
                        metrics.connectionsRefusedTotal.increment()
                        return channel.close()
                    case .overPerIP:
                        metrics.connectionsRefusedPerIP.increment()
                        return channel.close()
                    }
                    if current.config.proxyProtocol && !current.clientIPResolver.isTrusted(peer) {
                        // A PROXY header is believed only from the balancers in trusted_proxies.
                        limiter.release(peer)
                        return channel.close()
                    }
                    openConnections.increment()
                    channel.closeFuture.whenComplete { _ in
                        openConnections.decrement()
                        limiter.release(peer)
                    }
                    return channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(
                            SendTimeoutHandler(
                                timeout: .milliseconds(Int64(current.config.server.sendTimeoutMilliseconds)),
                                counter: metrics.sendTimeouts))
                        if current.config.proxyProtocol { try pipeline.addHandler(ProxyProtocolHandler()) }
                        if let tls {
                            try pipeline.addHandler(PlainHTTPOnTLSPortHandler())
                            try pipeline.addHandler(NIOSSLServerHandler(context: tls))
                        }
                        let clients = ClientPipeline(
                            snapshots: snapshots, loop: loopStates[ObjectIdentifier(channel.eventLoop)]!,
                            health: proxyHealth, settings: current.config.server, secure: tls != nil,
                            httpsPort: httpsPort, metrics: metrics)
                        if tls != nil ? h2OverTLS : current.config.server.h2c {
                            try pipeline.addHandler(
                                ProtocolSelector(mode: tls != nil ? .alpn : .preface, clients: clients))
                        } else {
                            try clients.addHTTP1(to: channel)
                        }
                    }
                }
        }
        // The TLS listener first, so the plain one knows its bound port for `redirect_http`.
        var secureListener:
            (channel: any Channel, quiescing: ServerQuiescingHelper, certificates: ListenerCertificates)?
        if let tls = snapshot.config.tls {
            let certificates = ListenerCertificates(try ListenerCertificates.load(tls))
            let secureQuiescing = ServerQuiescingHelper(group: group)
            let secureChannel = try await bootstrap(
                quiescing: secureQuiescing, tls: try certificates.context(alpn: tls.alpn),
                h2OverTLS: tls.alpn.contains("h2"), httpsPort: nil
            )
            .bind(host: tls.listen.host, port: tls.listen.port).get()
            secureListener = (secureChannel, secureQuiescing, certificates)
            logger.info(
                "listening (TLS)", metadata: ["address": "\(secureChannel.localAddress.map { "\($0)" } ?? "?")"])
        }
        let listen = snapshot.config.listen
        let quiescing = ServerQuiescingHelper(group: group)
        let channel: any Channel
        do {
            channel = try await bootstrap(
                quiescing: quiescing, tls: nil, httpsPort: secureListener?.channel.localAddress?.port
            ).bind(host: listen.host, port: listen.port).get()
        } catch {
            try? await secureListener?.channel.close()
            throw error
        }
        metrics.recordRegionStatuses(snapshot)
        let server = FrontDoorServer(
            publisher: publisher, health: health, proxyHealth: proxyHealth, routeEvents: routeEvents, metrics: metrics,
            caches: caches, loops: loops,
            group: group, serverChannel: channel, quiescing: quiescing, secureListener: secureListener,
            accessLog: accessLog, logger: logger)
        logger.info("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        return server
    }

    private init(
        publisher: SnapshotPublisher, health: HealthRegistry, proxyHealth: ProxyHealthReporter,
        routeEvents: RouteEvents, metrics: GeoFrontMetrics, caches: CacheRegistry,
        loops: [ObjectIdentifier: NIOLoopBound<LoopState>],
        group: MultiThreadedEventLoopGroup,
        serverChannel: any Channel, quiescing: ServerQuiescingHelper,
        secureListener: (channel: any Channel, quiescing: ServerQuiescingHelper, certificates: ListenerCertificates)?,
        accessLog: AccessLog?, logger: Logger
    ) {
        self.secureChannel = secureListener?.channel
        self.certificates = secureListener?.certificates
        self.publisher = publisher
        self.health = health
        self.proxyHealth = proxyHealth
        self.routeEvents = routeEvents
        self.metrics = metrics
        self.caches = caches
        self.loops = loops
        self.group = group
        self.ownsGroup = true
        self.serverChannel = serverChannel
        self.quiescingHelpers = NIOLockedValueBox([quiescing] + (secureListener.map { [$0.quiescing] } ?? []))
        self.accessLog = accessLog
        self.logger = logger
    }

    /// Serves until graceful shutdown (SIGTERM/SIGINT under a `ServiceGroup`), then stops.
    public func run() async throws {
        await withGracefulShutdownHandler {
            try? await serverChannel.closeFuture.get()
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        await finishShutdown()
    }

    /// The event loops, shared with health checks.
    public var eventLoopGroup: any EventLoopGroup { group }

    /// Resolves when the listener closes.
    public func waitUntilClosed() async throws {
        try await serverChannel.closeFuture.get()
    }

    /// Stops accepting; open connections close once their current response is done.
    private func beginShutdown() {
        logger.info("draining connections")
        for helper in quiescingHelpers.withLockedValue({ $0 }) { helper.initiateShutdown(promise: nil) }
    }

    /// Waits for connections to drain (at most the grace period), then stops the event loops.
    private func finishShutdown() async {
        let grace = publisher.current.config.server.shutdownGraceMilliseconds
        let loop = group.next()
        // A second call joins a drain already under way.
        var drainedFuture = loop.makeSucceededVoidFuture()
        for helper in quiescingHelpers.withLockedValue({ $0 }) {
            let drained = loop.makePromise(of: Void.self)
            helper.initiateShutdown(promise: drained)
            drainedFuture = drainedFuture.and(drained.futureResult).map { _ in () }
        }
        // Whichever comes first: every connection closed, or the grace period over.
        let outcome = loop.makePromise(of: Bool.self)
        let settled = try? await loop.submit { NIOLoopBoundBox(false, eventLoop: loop) }.get()
        drainedFuture.whenComplete { _ in
            guard let settled, !settled.value else { return }
            settled.value = true
            outcome.succeed(true)
        }
        let timeout = loop.scheduleTask(in: .milliseconds(Int64(grace))) {
            guard let settled, !settled.value else { return }
            settled.value = true
            outcome.succeed(false)
        }
        let completed = (try? await outcome.futureResult.get()) ?? false
        timeout.cancel()
        if !completed { logger.warning("shutdown grace period over: closing the remaining connections") }
        accessLog?.close()
        quiescingHelpers.withLockedValue { $0 = [] }
        if ownsGroup { try? await group.shutdownGracefully() }
    }

    /// Stops the server now: graceful drain within the grace period, then the event loops.
    public func stop() async throws {
        await finishShutdown()
    }

    /// Installs the upstream TLS contexts of a new configuration on every loop's pools.
    func setUpstreamTLS(_ contexts: UpstreamTLS.Contexts) async {
        for state in loops.values {
            try? await state.eventLoop.submit {
                state.value.setUpstreamTLS(contexts)
            }.get()
        }
    }

    /// Closes every loop's connection to Redis (`rate_limit.store` is gone after a reload).
    func closeRateLimitStores() async {
        for state in loops.values {
            try? await state.eventLoop.submit { state.value.closeRateLimitStore() }.get()
        }
    }

    /// Requests read since the start per protocol (HTTP/1.x, HTTP/2), summed over the event loops.
    public func requestsByProtocol() async -> (http1: Int, h2: Int) {
        var total = (http1: 0, h2: 0)
        for state in loops.values {
            let counts =
                (try? await state.eventLoop.submit { (state.value.http1Requests, state.value.h2Requests) }.get())
                ?? (0, 0)
            total.http1 += counts.0
            total.h2 += counts.1
        }
        return total
    }

    /// Requests per region over the last minute, summed over the event loops.
    public func trafficLastMinute() async -> [String: Int] {
        var total: [String: Int] = [:]
        for state in loops.values {
            let counts = (try? await state.eventLoop.submit { state.value.traffic.lastMinute() }.get()) ?? [:]
            total.merge(counts, uniquingKeysWith: +)
        }
        return total
    }
}
