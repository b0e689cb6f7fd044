import GeoFrontCore
import NIOCore
import NIOHTTP2
import NIOSSL

/// HTTP/2 connections to `"protocol": "h2"` upstreams, for one event loop: each exchange gets a
/// stream of its own — a child channel with ``H2UpstreamStreamAdapter`` and a
/// ``ByteUpstreamHandler``, handed to the exchange driver as an ``UpstreamConnection`` like a
/// pooled HTTP/1.1 connection — multiplexed over few connections.
///
/// A stream opens on the first connection with room under the upstream's
/// `SETTINGS_MAX_CONCURRENT_STREAMS`. A connection takes streams once the upstream's first
/// SETTINGS have said that limit (100 when they do not). Requests that find no room wait in the
/// pool, in order, for at most `connect_timeout_ms` (``UpstreamWaitQueue``); another connection is made for them (one at a time,
/// within `max_connections_per_upstream`), and each closing stream lets the next one in. A
/// connection that received GOAWAY takes no new streams and finishes the ones it has; one without
/// streams for `pool_idle_timeout_ms` is closed.
///
/// Over TLS the upstream must agree to `h2` by ALPN; over plain TCP it is spoken with prior
/// knowledge (h2c, RFC 9113 §3.3).
final class H2UpstreamPool {
    typealias Stream = UpstreamConnection<ByteUpstreamHandler>

    let loop: any EventLoop
    /// For HTTPS upstreams (ALPN `h2`); set from the configuration.
    var tlsContext: NIOSSLContext?
    private var entries: [UpstreamConfig: Entry] = [:]

    /// One upstream's connections and the requests waiting for room on them.
    private final class Entry {
        let upstream: UpstreamConfig
        var connections: [H2UpstreamConnection] = []
        let waiting = UpstreamWaitQueue<Stream>()
        /// A connection is being made (and its SETTINGS awaited).
        var connecting = false
        var settings: ProxySettings

        init(upstream: UpstreamConfig, settings: ProxySettings) {
            self.upstream = upstream
            self.settings = settings
        }
    }

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// A new stream to `upstream`, at once when a connection has room, else when one has.
    func openStream(_ upstream: UpstreamConfig, settings: ProxySettings) -> EventLoopFuture<Stream> {
        if upstream.tls && tlsContext == nil {
            return loop.makeFailedFuture(UpstreamConnectError.connectFailed("no TLS context"))
        }
        let entry: Entry
        if let existing = entries[upstream] {
            entry = existing
            entry.settings = settings
        } else {
            entry = Entry(upstream: upstream, settings: settings)
            entries[upstream] = entry
        }
        if entry.waiting.isEmpty, let connection = entry.connections.first(where: { $0.hasRoom }) {
            let promise = loop.makePromise(of: Stream.self)
            open(on: connection, entry: entry, promise: promise)
            return promise.futureResult
        }
        let stream = entry.waiting.wait(on: loop, settings: settings)
        dispatch(entry)
        return stream
    }

    /// Lets waiting requests onto connections with room, and makes another connection when some
    /// still wait and none is being made.
    private func dispatch(_ entry: Entry) {
        while !entry.waiting.isEmpty, let connection = entry.connections.first(where: { $0.hasRoom }),
            let waiter = entry.waiting.next()
        {
            open(on: connection, entry: entry, promise: waiter.promise)
        }
        guard !entry.waiting.isEmpty, !entry.connecting else { return }
        let live = entry.connections.filter { $0.takesStreams }.count
        guard live < entry.settings.maxConnectionsPerUpstream else { return }
        connect(entry)
    }

    private func open(on connection: H2UpstreamConnection, entry: Entry, promise: EventLoopPromise<Stream>) {
        connection.reserve()
        let tls = entry.upstream.tls
        let upstream = entry.upstream
        let bound = NIOLoopBound((self, connection, entry), eventLoop: loop)
        let created = loop.makePromise(of: (any Channel).self)
        connection.multiplexer!.createStreamChannel(promise: created) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(H2UpstreamStreamAdapter(tls: tls))
                try stream.pipeline.syncOperations.addHandler(ByteUpstreamHandler())
            }
        }
        created.futureResult.whenComplete { result in
            let (pool, connection, entry) = bound.value
            switch result {
            case .success(let stream):
                do {
                    let handler = try stream.pipeline.syncOperations.handler(type: ByteUpstreamHandler.self)
                    stream.closeFuture.whenComplete { _ in
                        let (pool, connection, entry) = bound.value
                        connection.release()
                        pool.dispatch(entry)
                    }
                    promise.succeed(UpstreamConnection(upstream: upstream, channel: stream, handler: handler))
                } catch {
                    stream.close(promise: nil)
                    promise.fail(UpstreamConnectError.connectFailed("h2 stream: \(error)"))
                }
            case .failure(let error):
                connection.release()
                promise.fail(UpstreamConnectError.connectFailed("h2 stream: \(error)"))
                pool.dispatch(entry)
            }
        }
    }

    private func connect(_ entry: Entry) {
        entry.connecting = true
        let settings = entry.settings
        let tlsContext = entry.upstream.tls ? self.tlsContext : nil
        let connection = H2UpstreamConnection(
            idleTimeout: .milliseconds(Int64(settings.poolIdleTimeoutMilliseconds)))
        let bound = NIOLoopBound((self, connection, entry), eventLoop: loop)
        connection.onReady = {
            let (pool, connection, entry) = bound.value
            entry.connecting = false
            entry.connections.append(connection)
            pool.dispatch(entry)
        }
        UpstreamDialer.dial(
            entry.upstream, on: loop, tlsContext: tlsContext,
            timeout: .milliseconds(Int64(settings.connectTimeoutMilliseconds))
        ) { _ in }
        .flatMapThrowing { dialed in
            let channel = dialed.channel
            if tlsContext != nil && dialed.alpn != "h2" {
                channel.close(promise: nil)
                throw UpstreamConnectError.connectFailed(
                    "the upstream did not agree to h2 by ALPN (it chose \(dialed.alpn ?? "none"))")
            }
            let (_, connection, _) = bound.value
            var configuration = NIOHTTP2Handler.ConnectionConfiguration()
            configuration.initialSettings = [
                HTTP2Setting(parameter: .enablePush, value: 0),
                HTTP2Setting(parameter: .maxHeaderListSize, value: 1 << 16),
                HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
            ]
            connection.channel = channel
            connection.multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                mode: .client, connectionConfiguration: configuration, streamConfiguration: .init()
            ) { pushed in
                // Push is off (SETTINGS_ENABLE_PUSH 0): a stream the upstream opens is refused.
                pushed.close()
            }
            try channel.pipeline.syncOperations.addHandler(H2UpstreamConnectionWatcher(connection: connection))
            channel.closeFuture.whenComplete { _ in
                let (pool, connection, entry) = bound.value
                pool.closed(connection, entry: entry)
            }
            // An upstream that accepts the connection but never sends its SETTINGS (it does not
            // speak HTTP/2) is given up on after connect_timeout_ms, like a connect that hangs.
            channel.eventLoop.scheduleTask(in: .milliseconds(Int64(settings.connectTimeoutMilliseconds))) {
                let (_, connection, _) = bound.value
                if !connection.isReady { channel.close(promise: nil) }
            }
        }
        .whenFailure { error in
            let (pool, connection, entry) = bound.value
            connection.closed = true
            pool.connectFailed(entry, error: error)
        }
    }

    private func closed(_ connection: H2UpstreamConnection, entry: Entry) {
        let wasReady = connection.isReady
        connection.closed = true
        connection.cancelIdleTimer()
        entry.connections.removeAll { $0 === connection }
        if !wasReady {
            // Closed before its SETTINGS came: the connection attempt failed.
            connectFailed(entry, error: UpstreamConnectError.connectFailed("the upstream closed the h2 connection"))
        } else {
            dispatch(entry)
        }
    }

    /// A connection could not be made: with no other to wait for, the waiting requests fail (the
    /// driver tries the next upstream).
    private func connectFailed(_ entry: Entry, error: any Error) {
        guard entry.connecting else { return }
        entry.connecting = false
        if entry.connections.contains(where: { $0.takesStreams }) { return }
        let failure = (error as? UpstreamConnectError) ?? UpstreamConnectError.connectFailed("\(error)")
        entry.waiting.failAll(failure)
    }

    /// Connections open to `upstream` from this loop (for tests and metrics).
    func openConnections(to upstream: UpstreamConfig) -> Int {
        entries[upstream]?.connections.filter { !$0.closed }.count ?? 0
    }
}
