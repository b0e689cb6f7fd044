import NIOCore

/// The front end's one ``DeadlineTimer``, re-armed lazily: `idle_timeout_ms` with nothing in
/// progress, `request_timeout_ms` for a head or a pause in a body, and during an exchange the
/// deadline its state machine names.
extension HTTP1FrontEnd {
    func arm(_ delay: TimeAmount) {
        if let timer {
            timer.arm(in: delay)
            return
        }
        // Not in a pipeline or on a stream (any more): nothing to time.
        guard isAttached else { return }
        let timer = DeadlineTimer(timers: loop.timers)
        // Cleared when the handler is removed or the stream ends.
        timer.action = { [unowned self] in self.timedOut() }
        self.timer = timer
        timer.arm(in: delay)
    }

    /// Nothing in progress: `idle_timeout_ms`. An HTTP/2 stream has no idle time (its one
    /// request comes with it and it ends with its answer; ``H2StreamHost`` keeps the
    /// connection's idle timeout), so it queues no timer for it.
    func armIdle() {
        if http2 {
            timer?.disarm()
        } else {
            arm(limits.idleTimeout)
        }
    }

    func disarm() {
        timer?.disarm()
    }

    func timedOut() {
        switch phase {
        case .awaitingHead where (buffer?.readableBytes ?? 0) > 0:
            refuse(408)
        case .exchange:
            driver?.timedOut()
        case .awaitingHead, .skippingBody, .closing, .tunnel, .following, .limiting:
            close()
        }
    }
}
