import NIOCore

/// One connection's timer, re-armed cheaply: moving the deadline is a clock read. The timer sits
/// in its event loop's ``LoopTimers`` queue at most once; when it comes up early (the deadline was
/// moved later) it queues itself again for the current deadline. No scheduled task and no closure
/// per connection or per arm. Confined to its event loop.
final class DeadlineTimer {
    private let timers: LoopTimers
    /// What runs once the deadline has passed. Set once by the owner, capturing it weakly.
    var action: (() -> Void)?
    /// When the limit runs out; nil when no limit applies now.
    private(set) var deadline: NIODeadline?
    /// When the queue serves this timer (never later than `deadline`), while queued.
    var queuedFor = NIODeadline.uptimeNanoseconds(0)
    /// Position in the queue's heap; -1 when not queued.
    var heapIndex = -1

    init(timers: LoopTimers) {
        self.timers = timers
    }

    /// Sets the deadline `delay` from now (the loop's clock).
    func arm(in delay: TimeAmount) {
        let when = timers.now + delay
        deadline = when
        if heapIndex >= 0 && queuedFor <= when { return }
        timers.queue(self, at: when)
    }

    /// No limit now; a queued timer that comes up finds none and does nothing.
    func disarm() {
        deadline = nil
    }

    /// No limit, and out of the queue.
    func cancel() {
        deadline = nil
        timers.remove(self)
    }

    /// Called by the queue at `queuedFor`.
    func reached(now: NIODeadline) {
        guard let deadline else { return }
        if now < deadline {
            timers.queue(self, at: deadline)
            return
        }
        self.deadline = nil
        action?()
    }
}
