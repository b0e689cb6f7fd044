import GeoFrontCore
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// The handler at the end of a pooled upstream connection (``ByteUpstreamHandler``).
protocol PooledUpstreamHandler: ChannelHandler, SendableMetatype {
    /// Adds this kind's handlers (codecs, then the handler itself) to a new connection.
    static func install(on pipeline: ChannelPipeline.SynchronousOperations) throws
    /// The connection is handed out for a new exchange.
    func reset()
    /// The connection goes back to the pool: nobody listens to it any more.
    func detach()
}

/// One open connection to an upstream. Confined to its channel's event loop (the pool that made
/// it and the exchanges using it live there); `@unchecked Sendable` only so futures can carry it.
final class UpstreamConnection<Handler: PooledUpstreamHandler>: @unchecked Sendable {
    let upstream: UpstreamConfig
    let channel: any Channel
    let handler: Handler
    /// When it went back to the pool (the pool's sweep closes it after `pool_idle_timeout_ms`).
    var idleSince = NIODeadline.uptimeNanoseconds(0)

    init(upstream: UpstreamConfig, channel: any Channel, handler: Handler) {
        self.upstream = upstream
        self.channel = channel
        self.handler = handler
    }
}

/// Why no connection could be had (``UpstreamFailure/Kind``: `poolExhausted`, `refused`,
/// `connectFailed`, `connectTimeout`). All of these happen before any byte of the request left.
struct UpstreamConnectError: Error {
    let kind: UpstreamFailure.Kind

    static let poolExhausted = UpstreamConnectError(kind: .poolExhausted)
    static let connectTimeout = UpstreamConnectError(kind: .connectTimeout)
    static func connectFailed(_ detail: String) -> UpstreamConnectError {
        UpstreamConnectError(kind: .connectFailed(detail))
    }

    /// The kind for any error a connect attempt ended with.
    static func kind(of error: any Error) -> UpstreamFailure.Kind {
        (error as? UpstreamConnectError)?.kind ?? .connectFailed("\(error)")
    }
}

/// Keep-alive connections to upstreams, for one event loop: the loop's handlers use it without
/// locks, and connections never change threads. One pool per kind of connection (`Handler`).
///
/// At most `max_connections_per_upstream` are open to one upstream. A request that finds them all
/// busy waits (in order, as HAProxy's server queue does) for one to come back or to close (then
/// a new one is made for it), for at most `connect_timeout_ms`; after that it fails as
/// `poolExhausted` and the next upstream is tried.
final class UpstreamPool<Handler: PooledUpstreamHandler> {
    let loop: any EventLoop
    /// For HTTPS upstreams; set from the configuration.
    var tlsContext: NIOSSLContext?
    /// Idle connections and waiting requests per upstream, in a box of their own: taking a
    /// connection and giving one back then read the dictionary instead of mutating through it (a
    /// dictionary's in-place mutation allocates its accessor frames: three allocations per
    /// request).
    private var idle: [UpstreamConfig: IdleList] = [:]
    private final class IdleList {
        var connections: [UpstreamConnection<Handler>] = []
        /// Requests waiting for a connection while the pool is full.
        let waiting = UpstreamWaitQueue<UpstreamConnection<Handler>>()
    }
    private var open: [UpstreamConfig: Int] = [:]
    private var idleTimeout = TimeAmount.seconds(30)
    private var sweep: Scheduled<Void>?

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// An idle pooled connection to `upstream`, if there is one (no future, no allocation).
    func takeIdle(_ upstream: UpstreamConfig) -> UpstreamConnection<Handler>? {
        guard let list = idle[upstream] else { return nil }
        while let connection = list.connections.popLast() {
            if connection.channel.isActive {
                connection.handler.reset()
                return connection
            }
            // Closed while idle: its close callback does the bookkeeping.
        }
        return nil
    }

    /// A new connection to `upstream` (within `max_connections_per_upstream`), or, when that many
    /// are open, the first one given back or a new one once one closes.
    func connect(_ upstream: UpstreamConfig, settings: ProxySettings) -> EventLoopFuture<UpstreamConnection<Handler>> {
        guard open[upstream, default: 0] < settings.maxConnectionsPerUpstream else {
            return list(upstream).waiting.wait(on: loop, settings: settings)
        }
        return dial(upstream, settings: settings)
    }

    private func list(_ upstream: UpstreamConfig) -> IdleList {
        if let list = idle[upstream] { return list }
        let list = IdleList()
        idle[upstream] = list
        return list
    }

    private func dial(_ upstream: UpstreamConfig, settings: ProxySettings) -> EventLoopFuture<
        UpstreamConnection<Handler>
    > {
        let tlsContext = upstream.tls ? self.tlsContext : nil
        if upstream.tls && tlsContext == nil {
            return loop.makeFailedFuture(UpstreamConnectError.connectFailed("no TLS context"))
        }
        open[upstream, default: 0] += 1
        let loopBoundSelf = NIOLoopBound(self, eventLoop: loop)
        return UpstreamDialer.dial(
            upstream, on: loop, tlsContext: tlsContext,
            timeout: .milliseconds(Int64(settings.connectTimeoutMilliseconds))
        ) { pipeline in
            try Handler.install(on: pipeline)
        }
        .flatMapErrorThrowing { error in
            let pool = loopBoundSelf.value
            pool.open[upstream, default: 1] -= 1
            pool.serveWaiter(upstream)
            throw error
        }
        .flatMapThrowing { dialed in
            let channel = dialed.channel
            let handler = try channel.pipeline.syncOperations.handler(type: Handler.self)
            let connection = UpstreamConnection(upstream: upstream, channel: channel, handler: handler)
            channel.closeFuture.whenComplete { _ in
                loopBoundSelf.value.closed(connection)
            }
            return connection
        }
    }

    /// Gives a connection back after an exchange. Reusable connections wait in the pool for
    /// `pool_idle_timeout_ms`; others are closed.
    func release(_ connection: UpstreamConnection<Handler>, reusable: Bool, settings: ProxySettings) {
        connection.handler.detach()
        guard reusable, connection.channel.isActive else {
            // Its close callback lets a waiting request make a new one.
            connection.channel.close(promise: nil)
            return
        }
        let list = list(connection.upstream)
        if let waiter = list.waiting.next() {
            connection.handler.reset()
            waiter.promise.succeed(connection)
            return
        }
        list.connections.append(connection)
        connection.idleSince = .now()
        idleTimeout = .milliseconds(Int64(settings.poolIdleTimeoutMilliseconds))
        if sweep == nil { scheduleSweep(at: connection.idleSince + idleTimeout) }
    }

    /// Closes the connections idle for `pool_idle_timeout_ms`. One scheduled task per pool, not
    /// one per connection handed back (which would be a schedule and a cancel per request).
    private func sweepIdle() {
        sweep = nil
        let now = NIODeadline.now()
        var earliest: NIODeadline?
        for list in idle.values {
            for connection in list.connections {
                if connection.idleSince + idleTimeout <= now {
                    // Its close callback takes it off the list.
                    connection.channel.close(promise: nil)
                } else {
                    earliest = min(earliest ?? connection.idleSince, connection.idleSince)
                }
            }
        }
        if let earliest { scheduleSweep(at: earliest + idleTimeout) }
    }

    private func scheduleSweep(at deadline: NIODeadline) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        sweep = loop.scheduleTask(deadline: deadline) { bound.value.sweepIdle() }
    }

    private func closed(_ connection: UpstreamConnection<Handler>) {
        open[connection.upstream, default: 1] -= 1
        guard let list = idle[connection.upstream] else { return }
        if let index = list.connections.firstIndex(where: { $0 === connection }) {
            list.connections.remove(at: index)
        }
        serveWaiter(connection.upstream)
    }

    /// Room for one more connection to `upstream`: the request that waited longest gets a new one.
    private func serveWaiter(_ upstream: UpstreamConfig) {
        guard let list = idle[upstream], let waiter = list.waiting.next() else { return }
        dial(upstream, settings: waiter.settings).cascade(to: waiter.promise)
    }

    /// Connections open to `upstream` from this loop (for tests and metrics).
    func openConnections(to upstream: UpstreamConfig) -> Int { open[upstream, default: 0] }
}
