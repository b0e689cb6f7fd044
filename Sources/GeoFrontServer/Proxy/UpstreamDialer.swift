import GeoFrontCore
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Opens one connection to an upstream for a pool (``UpstreamPool``, ``H2UpstreamPool``): TCP with
/// `TCP_NODELAY`, then TLS (SNI and verification per ``UpstreamTLS``) when a context is given,
/// all within `connect_timeout_ms`. Failures come back as ``UpstreamConnectError``, with the
/// channel closed.
enum UpstreamDialer {
    struct Dialed: Sendable {
        let channel: any Channel
        /// The protocol TLS's ALPN agreed on (nil without TLS, or when the upstream chose none).
        let alpn: String?
    }

    /// Connects to `upstream`; `install` adds the connection's handlers (after TLS's) before the
    /// connect completes.
    static func dial(
        _ upstream: UpstreamConfig, on loop: any EventLoop, tlsContext: NIOSSLContext?, timeout: TimeAmount,
        install: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) -> EventLoopFuture<Dialed> {
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(
                            try UpstreamTLS.clientHandler(
                                context: tlsContext, host: upstream.address.host, serverName: upstream.serverName))
                    }
                    try install(channel.pipeline.syncOperations)
                }
            }
        return bootstrap.connect(host: upstream.address.host, port: upstream.address.port)
            .flatMapErrorThrowing { error in
                if let channelError = error as? ChannelError, case .connectTimeout = channelError {
                    throw UpstreamConnectError.connectTimeout
                }
                let failure = ProbeFailure(connectError: error, timeout: 0)
                if case .connectionRefused = failure { throw UpstreamConnectError(kind: .refused) }
                throw UpstreamConnectError.connectFailed(String(describing: failure))
            }
            .flatMap { channel -> EventLoopFuture<Dialed> in
                // connect_timeout_ms covers the TLS handshake too.
                guard tlsContext != nil else {
                    return channel.eventLoop.makeSucceededFuture(Dialed(channel: channel, alpn: nil))
                }
                let handshake = channel.eventLoop.makePromise(of: String?.self)
                do {
                    try channel.pipeline.syncOperations.addHandler(
                        TLSHandshakeWatcher(promise: handshake, timeout: timeout),
                        position: .after(try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)))
                } catch {
                    handshake.fail(error)
                }
                return handshake.futureResult.flatMapError { error in
                    channel.close(promise: nil)
                    if let connectError = error as? UpstreamConnectError, case .connectTimeout = connectError.kind {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                    return channel.eventLoop.makeFailedFuture(
                        UpstreamConnectError.connectFailed("TLS handshake failed: \(error)"))
                }.map { Dialed(channel: channel, alpn: $0) }
            }
    }
}
