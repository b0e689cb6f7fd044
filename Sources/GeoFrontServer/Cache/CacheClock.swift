import Glibc
import Synchronization

/// The cache's wall clock in whole seconds since the epoch (HTTP dates are wall-clock times).
/// Read from the kernel's coarse clock (`CLOCK_REALTIME_COARSE`: the time of the last tick, a few
/// milliseconds old at most, without reading the hardware counter): whole seconds need no more,
/// and the cached path reads it several times per request.
/// Tests move it forward (``advance(by:)``) instead of waiting for a response to go stale, and
/// stop it (``freeze()``) so that a slow, busy machine cannot age their responses either.
final class CacheClock: Sendable {
    private let offset = Atomic<Int>(0)
    /// The second the clock stopped at (0: it runs).
    private let frozen = Atomic<Int>(0)

    init() {}

    var now: Int {
        let stopped = frozen.load(ordering: .relaxed)
        if stopped != 0 { return stopped + offset.load(ordering: .relaxed) }
        var time = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &time)
        return Int(time.tv_sec) + offset.load(ordering: .relaxed)
    }

    /// Stops the clock at the current second; from then on only ``advance(by:)`` moves it (tests).
    func freeze() {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        frozen.store(Int(time.tv_sec), ordering: .relaxed)
    }

    /// Moves this clock `seconds` ahead of the real one (tests).
    func advance(by seconds: Int) {
        offset.add(seconds, ordering: .relaxed)
    }
}
