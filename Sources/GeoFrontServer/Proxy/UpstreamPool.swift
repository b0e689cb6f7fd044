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
final class UpstreamPool<Handler: PooledUpstreamHandler> {
    let loop: any EventLoop
    /// For HTTPS upstreams; set from the configuration.
    var tlsContext: NIOSSLContext?
    /// Idle connections per upstream, each list in a box of its own: taking one and giving one
    /// back then read the dictionary instead of mutating through it (a dictionary's in-place
    /// mutation allocates its accessor frames: three allocations per request).
    private var idle: [UpstreamConfig: IdleList] = [:]
    private final class IdleList {
        var connections: [UpstreamConnection<Handler>] = []
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

    /// A new connection to `upstream` (within `max_connections_per_upstream`).
    func connect(_ upstream: UpstreamConfig, settings: ProxySettings) -> EventLoopFuture<UpstreamConnection<Handler>> {
        guard open[upstream, default: 0] < settings.maxConnectionsPerUpstream else {
            return loop.makeFailedFuture(UpstreamConnectError.poolExhausted)
        }
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
            loopBoundSelf.value.open[upstream, default: 1] -= 1
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
            connection.channel.close(promise: nil)
            return
        }
        if let list = idle[connection.upstream] {
            list.connections.append(connection)
        } else {
            let list = IdleList()
            list.connections.append(connection)
            idle[connection.upstream] = list
        }
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
        if let list = idle[connection.upstream], let index = list.connections.firstIndex(where: { $0 === connection }) {
            list.connections.remove(at: index)
        }
    }

    /// Connections open to `upstream` from this loop (for tests and metrics).
    func openConnections(to upstream: UpstreamConfig) -> Int { open[upstream, default: 0] }
}
