import NIOCore

/// `server.send_timeout_ms` and read backpressure for one channel, kept by the handler that owns
/// them: ``SendTimeoutHandler`` for a client connection, ``H2ServerStream`` for an HTTP/2 stream.
/// While the channel is not writable its reads are held; if it stays so for the whole timeout,
/// `expired` runs (the owner closes). The timer exists only while the channel is full.
///
/// Its methods only say what to do: the owner calls `context.read()` itself, after the method
/// returned. (A read inside a mutating method would hold exclusive access to the gate while the
/// read delivers data, writes, and changes writability again: a re-entrant access.)
struct SendTimeoutGate {
    private var timer: Scheduled<Void>?
    /// A `read` held back while the channel was not writable.
    private var readPending = false

    /// A `read` passing through the owner: true when it goes on now, false when it is held
    /// until the channel is writable.
    mutating func passRead(writable: Bool) -> Bool {
        if writable { return true }
        readPending = true
        return false
    }

    /// The channel's writability changed: true when a held read should go on now; when the
    /// channel is full, the timer starts (`expired` runs on the loop if it is not cancelled).
    mutating func writabilityChanged(
        _ context: ChannelHandlerContext, timeout: TimeAmount, expired: @escaping () -> Void
    ) -> Bool {
        writabilityChanged(
            writable: context.channel.isWritable, on: context.eventLoop, timeout: timeout, expired: expired)
    }

    /// The same, for a channel (or stream) that is now `writable` or not, on `eventLoop`.
    mutating func writabilityChanged(
        writable: Bool, on eventLoop: any EventLoop, timeout: TimeAmount, expired: @escaping () -> Void
    ) -> Bool {
        if writable {
            cancel()
            defer { readPending = false }
            return readPending
        }
        if timer == nil {
            timer = eventLoop.assumeIsolated().scheduleTask(in: timeout, expired)
        }
        return false
    }

    /// The channel ended (or the owner left it).
    mutating func cancel() {
        timer?.cancel()
        timer = nil
    }
}
