import GeoFrontCore
import GeoIP
import NIOCore

/// What a ``ProxyExchangeDriver`` answers through: a client connection's ``HTTP1FrontEnd``, or a
/// request of the cache's own that nobody waits for (``CacheRefresh``). The driver writes the
/// response here, asks for its deadlines here, and says here when the exchange is over.
protocol ExchangeClient: AnyObject {
    var loop: LoopState { get }
    var health: ProxyHealthReporter? { get }
    /// The request came over TLS (`X-Forwarded-Proto`, the cache key's scheme).
    var secure: Bool { get }
    /// The request is an HTTP/2 stream's (the access log says so).
    var http2: Bool { get }
    /// The connection's peer (`X-Forwarded-For`).
    var peer: IPAddress { get }
    var limits: ClientConnectionLimits { get }
    /// The client can take more bytes now.
    var clientWritable: Bool { get }
    /// The client's event loop and allocator; nil once the client is gone.
    var allocator: ByteBufferAllocator? { get }
    var eventLoop: (any EventLoop)? { get }

    func write(_ out: ByteBuffer)
    func flushIfNeeded()
    /// The response was cut short: the client must not take it for whole.
    func cut()
    /// The exchange is over (its answer written).
    func exchangeFinished(closeClient: Bool)
    /// The exchange can take more request body.
    func resumeClientReads()
    /// The exchange's current deadline (``ProxyExchangeDriver/timedOut()`` when it passes).
    func arm(_ delay: TimeAmount)
    func disarm()
    /// `101 Switching Protocols` went out: join the client and `upstream` into a byte tunnel.
    func startTunnel(to upstream: any Channel, idleTimeout: TimeAmount)
}
