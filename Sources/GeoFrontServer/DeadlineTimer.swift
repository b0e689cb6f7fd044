import NIOCore

/// One connection's timer, re-armed cheaply: moving the deadline is a clock read; the scheduled
/// task is only replaced when it would fire too late, and when it fires early it re-schedules
/// itself for the current deadline. Confined to its event loop.
struct DeadlineTimer {
    private var task: Scheduled<Void>?
    /// When the limit runs out; nil when no limit applies now.
    private(set) var deadline: NIODeadline?
    /// When the scheduled task fires (never later than `deadline`).
    private var scheduledFor: NIODeadline?

    /// Sets the deadline `delay` from now; `fire` runs on the loop once it has passed.
    mutating func arm(in delay: TimeAmount, on loop: any EventLoop, fire: @escaping () -> Void) {
        let when = NIODeadline.now() + delay
        deadline = when
        if let scheduledFor, task != nil, scheduledFor <= when { return }
        schedule(at: when, on: loop, fire: fire)
    }

    /// No limit now; a task that fires finds none and does nothing.
    mutating func disarm() {
        deadline = nil
    }

    mutating func cancel() {
        deadline = nil
        task?.cancel()
        task = nil
    }

    /// Call from `fire`: true when the deadline has really passed (and clears it); otherwise the
    /// task is re-scheduled for the deadline and false is returned.
    mutating func expired(on loop: any EventLoop, fire: @escaping () -> Void) -> Bool {
        task = nil
        guard let deadline else { return false }
        if NIODeadline.now() < deadline {
            schedule(at: deadline, on: loop, fire: fire)
            return false
        }
        self.deadline = nil
        return true
    }

    private mutating func schedule(at when: NIODeadline, on loop: any EventLoop, fire: @escaping () -> Void) {
        task?.cancel()
        scheduledFor = when
        let bound = NIOLoopBound(fire, eventLoop: loop)
        task = loop.scheduleTask(deadline: when) { bound.value() }
    }
}
