import DequeModule
import GeoFrontCore
import NIOCore

/// Requests waiting for a connection (``UpstreamPool``) or a stream (``H2UpstreamPool``) while a
/// pool is full, oldest first, on the pool's event loop. A request waits at most its
/// `connect_timeout_ms`, then fails as `poolExhausted` (and the next upstream is tried).
final class UpstreamWaitQueue<Value: Sendable> {
    final class Waiter {
        let promise: EventLoopPromise<Value>
        /// The waiting request's proxy settings (a new connection for it is made with them).
        let settings: ProxySettings
        fileprivate var timeout: Scheduled<Void>?

        fileprivate init(promise: EventLoopPromise<Value>, settings: ProxySettings) {
            self.promise = promise
            self.settings = settings
        }
    }

    private var waiters: Deque<Waiter> = []

    var isEmpty: Bool { waiters.isEmpty }

    /// A request joins the end of the queue: its future is completed by whoever takes it.
    func wait(on loop: any EventLoop, settings: ProxySettings) -> EventLoopFuture<Value> {
        let waiter = Waiter(promise: loop.makePromise(), settings: settings)
        let bound = NIOLoopBound((self, waiter), eventLoop: loop)
        waiter.timeout = loop.scheduleTask(in: .milliseconds(Int64(settings.connectTimeoutMilliseconds))) {
            let (queue, waiter) = bound.value
            guard let index = queue.waiters.firstIndex(where: { $0 === waiter }) else { return }
            queue.waiters.remove(at: index)
            waiter.promise.fail(UpstreamConnectError.poolExhausted)
        }
        waiters.append(waiter)
        return waiter.promise.futureResult
    }

    /// The request that waited longest, out of the queue (its timeout stopped); nil when none.
    func next() -> Waiter? {
        guard let waiter = waiters.popFirst() else { return nil }
        waiter.timeout?.cancel()
        return waiter
    }

    /// Fails every waiting request with `error`.
    func failAll(_ error: any Error) {
        while let waiter = next() { waiter.promise.fail(error) }
    }
}
