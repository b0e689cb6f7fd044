import Glibc
import Synchronization

/// The cache's wall clock in whole seconds since the epoch (HTTP dates are wall-clock times).
/// Tests move it forward (``advance(by:)``) instead of waiting for a response to go stale.
final class CacheClock: Sendable {
    private let offset = Atomic<Int>(0)

    init() {}

    var now: Int {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int(time.tv_sec) + offset.load(ordering: .relaxed)
    }

    /// Moves this clock `seconds` ahead of the real one (tests).
    func advance(by seconds: Int) {
        offset.add(seconds, ordering: .relaxed)
    }
}
