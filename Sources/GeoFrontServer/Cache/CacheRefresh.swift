import GeoFrontCore
import GeoIP
import NIOCore

/// A `stale-while-revalidate` refresh (RFC 5861 §3): the cache's own request for a stale stored
/// response, made after the client was answered from it. It is an ordinary exchange
/// (``ProxyExchangeDriver``, with the stored response's validators) whose client is this object:
/// the answer goes to the cache (a 304 refreshes the stored response, a 200 replaces it), nothing
/// goes to any connection. It keeps itself alive until the exchange ends.
final class CacheRefresh: ExchangeClient {
    let loop: LoopState
    let health: ProxyHealthReporter?
    let secure: Bool
    let http2 = false
    let peer: IPAddress
    let limits: ClientConnectionLimits
    var clientWritable: Bool { true }
    var allocator: ByteBufferAllocator? { done ? nil : ownAllocator }
    var eventLoop: (any EventLoop)? { done ? nil : ownLoop }
    private let ownAllocator: ByteBufferAllocator
    private let ownLoop: any EventLoop
    private let timer: DeadlineTimer
    private var driver: ProxyExchangeDriver?
    private var done = false
    /// Itself, while the exchange runs (nobody else holds it).
    private var running: CacheRefresh?

    private init(from frontEnd: HTTP1FrontEnd, eventLoop: any EventLoop, allocator: ByteBufferAllocator) {
        loop = frontEnd.loop
        health = frontEnd.health
        secure = frontEnd.secure
        peer = frontEnd.peer
        limits = frontEnd.limits
        ownLoop = eventLoop
        ownAllocator = allocator
        timer = DeadlineTimer(timers: frontEnd.loop.timers)
    }

    /// Starts the refresh of the request in `bytes` (its head, copied by the caller) for `forward`.
    static func start(
        from frontEnd: HTTP1FrontEnd, forward: CacheForward, head: RequestHead, bytes: ByteBuffer, path: [UInt8],
        decision: RoutingDecision, snapshot: RoutingSnapshot
    ) {
        guard let eventLoop = frontEnd.eventLoop, let allocator = frontEnd.allocator else {
            forward.fill.map { fill in
                fill.release()
                forward.cache.endFill(fill)
            }
            return
        }
        let refresh = CacheRefresh(from: frontEnd, eventLoop: eventLoop, allocator: allocator)
        refresh.running = refresh
        refresh.timer.action = { [unowned refresh] in refresh.driver?.timedOut() }
        let driver = ProxyExchangeDriver(frontEnd: refresh)
        refresh.driver = driver
        bytes.withUnsafeReadableBytes { raw in
            path.withUnsafeBytes { path in
                driver.start(
                    head: head, raw, path: path, decision: decision, snapshot: snapshot, close: false, logged: nil,
                    cache: forward, allocator: allocator)
            }
        }
    }

    func write(_ out: ByteBuffer) {}
    func flushIfNeeded() {}
    func resumeClientReads() {}
    func cut() { finish() }
    func exchangeFinished(closeClient: Bool) { finish() }
    func arm(_ delay: TimeAmount) { timer.arm(in: delay) }
    func disarm() { timer.disarm() }

    func startTunnel(to upstream: any Channel, idleTimeout: TimeAmount) {
        upstream.close(promise: nil)
        finish()
    }

    /// The exchange is over: let go of it on the next turn of the loop (it may still be on the
    /// stack now).
    private func finish() {
        guard !done else { return }
        done = true
        timer.cancel()
        timer.action = nil
        let bound = NIOLoopBound(self, eventLoop: ownLoop)
        ownLoop.execute {
            let refresh = bound.value
            refresh.driver?.detach()
            refresh.driver = nil
            refresh.running = nil
        }
    }
}
