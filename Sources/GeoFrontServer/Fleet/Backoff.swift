/// Capped exponential backoff with jitter, for retrying etcd: 100 ms, 200 ms, 400 ms … up to
/// `cap`, each wait drawn between half and all of its step so a fleet that lost etcd together
/// does not come back in lockstep.
struct Backoff: Sendable {
    var first: Duration = .milliseconds(100)
    var cap: Duration = .seconds(5)
    private var step: Duration?

    init(first: Duration = .milliseconds(100), cap: Duration = .seconds(5)) {
        self.first = first
        self.cap = cap
    }

    /// The next wait.
    mutating func next() -> Duration {
        let current = min(step.map { $0 * 2 } ?? first, cap)
        step = current
        let milliseconds = max(
            1, Int(current.components.seconds * 1000 + current.components.attoseconds / 1_000_000_000_000_000))
        return .milliseconds(Int.random(in: (milliseconds / 2)...milliseconds))
    }

    /// After a success: the next failure waits `first` again.
    mutating func reset() {
        step = nil
    }
}
