import NIOCore

/// The requests on one Redis connection, pipelined: each is written at once (flushed once per
/// event-loop turn, so requests made in the same turn share a write) and its callback waits in a
/// FIFO queue, since Redis answers in order. A request whose `timeout` passes gets
/// ``RedisFailure/timeout``; its slot stays in the queue so the late reply is matched and dropped.
/// One timer per connection, armed for the oldest waiting request. When the oldest request has
/// had no reply for `staleAfter`, the server is taken for hung and the connection is closed.
/// Closing fails every waiting request with ``RedisFailure/connectionLost``.
/// Confined to its channel's event loop.
final class RedisPipelineHandler: ChannelInboundHandler {
    typealias InboundIn = RESPValue
    typealias OutboundOut = RESPValue
    typealias Callback = (Result<RESPValue, RedisFailure>) -> Void

    private struct Waiting {
        var callback: Callback?
        let deadline: NIODeadline
        let sent: NIODeadline
    }

    private let staleAfter: TimeAmount
    private var waiting = CircularBuffer<Waiting>(initialCapacity: 64)
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var flushScheduled = false

    init(staleAfter: TimeAmount) {
        self.staleAfter = staleAfter
    }

    /// Requests sent and not answered yet (timed out ones included until their reply comes).
    var inFlight: Int { waiting.count }

    /// Whether the connection can take requests.
    var isActive: Bool { context?.channel.isActive ?? false }

    /// Sends `command` and returns true: `callback` is then called exactly once, on the event loop,
    /// never from inside this call. False (and no callback) when the connection is not active.
    func send(_ command: RESPValue, timeout: TimeAmount, _ callback: @escaping Callback) -> Bool {
        guard let context, context.channel.isActive else { return false }
        let now = NIODeadline.now()
        waiting.append(Waiting(callback: callback, deadline: now + timeout, sent: now))
        context.write(wrapOutboundOut(command), promise: nil)
        if !flushScheduled {
            flushScheduled = true
            context.eventLoop.assumeIsolated().execute { [self] in
                flushScheduled = false
                self.context?.flush()
            }
        }
        if timer == nil { arm(at: now + timeout) }
        return true
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        failAll()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let first = waiting.popFirst() else {
            // A reply nobody asked for: the stream is out of step.
            context.close(promise: nil)
            return
        }
        first.callback?(.success(unwrapInboundIn(data)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        failAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A protocol error from the decoder, or a socket error: the connection is done.
        context.close(promise: nil)
    }

    private func failAll() {
        while let entry = waiting.popFirst() {
            entry.callback?(.failure(.connectionLost))
        }
    }

    private func arm(at deadline: NIODeadline) {
        guard let context else { return }
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerDeadline = nil
            expire()
        }
    }

    /// Times out the requests whose deadline has passed (deadlines grow along the queue), closes a
    /// hung connection, and arms the timer for the next deadline.
    private func expire() {
        let now = NIODeadline.now()
        var offset = 0
        var next: NIODeadline?
        // By offset: a callback may send (and the queue grow, moving its storage).
        while offset < waiting.count {
            let index = waiting.index(waiting.startIndex, offsetBy: offset)
            let entry = waiting[index]
            if let callback = entry.callback {
                guard entry.deadline <= now else {
                    next = entry.deadline
                    break
                }
                waiting[index].callback = nil
                callback(.failure(.timeout))
                // The callback may have closed the connection (the queue is empty then).
                if waiting.isEmpty { return }
            }
            offset += 1
        }
        if let oldest = waiting.first, now - oldest.sent >= staleAfter {
            context?.close(promise: nil)
            return
        }
        if let next {
            arm(at: next)
        } else if let oldest = waiting.first {
            // Only late replies are awaited: check again when the oldest would count as hung.
            arm(at: oldest.sent + staleAfter)
        }
    }
}
