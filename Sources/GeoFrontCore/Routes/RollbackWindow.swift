/// The requests and errors of a route's backends over the last `window_s` seconds, for
/// ``RouteControl``'s rollback detector: a ring of time buckets per backend and a running sum.
///
/// Granularity: a window of up to 60 s has one bucket per second; a longer one has 60 buckets
/// (fewer when `window_s` is not a multiple) of `ceil(window_s / 60)` seconds each, so the ring
/// spans `window_s` rounded up to a whole bucket (61 s: 31 buckets of 2 s). The window is the
/// current bucket and the ones before it, so an outcome counts for at least the span minus one
/// bucket and at most the span (at least 9 and at most 10 s for `window_s` 10; 59 to 60 min for
/// 3600). Recording and reading are O(1) apart from clearing the buckets time has passed over (at
/// most the whole ring). Not thread-safe: the caller locks.
///
/// Times are durations since an epoch of the owner's (``RouteRuntime``): a stored
/// `ContinuousClock.Instant` (a resilient type) would make every field access go through runtime
/// layout metadata. Most outcomes fall in the newest bucket, found by two comparisons; the
/// division runs once per bucket.
struct RollbackWindow: Sendable {
    /// The length of one bucket, in seconds.
    let bucketSeconds: Int
    /// The number of buckets in the ring.
    let bucketCount: Int
    let backendCount: Int
    private let bucketLength: Duration
    /// Bucket numbers are counted from the first time seen (`hasOrigin`).
    private var origin = Duration.zero
    private var hasOrigin = false
    /// The number of the newest bucket, and the times it covers (`headStart..<headEnd`).
    private var head: Int64 = 0
    private var headStart = Duration.zero
    private var headEnd = Duration.zero
    /// Per bucket, per backend: `[slot * backendCount + backend]`.
    private var bucketRequests: [UInt32]
    private var bucketErrors: [UInt32]
    /// Per backend: the sums over the ring.
    private(set) var requests: [Int]
    private(set) var errors: [Int]

    /// The bucket length and count for a window of `windowSeconds` (at least 1).
    static func geometry(windowSeconds: Int) -> (bucketSeconds: Int, bucketCount: Int) {
        let seconds = max(1, windowSeconds)
        let bucketSeconds = (seconds + 59) / 60
        return (bucketSeconds, (seconds + bucketSeconds - 1) / bucketSeconds)
    }

    init(windowSeconds: Int, backends: Int) {
        (bucketSeconds, bucketCount) = Self.geometry(windowSeconds: windowSeconds)
        backendCount = backends
        bucketLength = .seconds(bucketSeconds)
        bucketRequests = Array(repeating: 0, count: bucketCount * backends)
        bucketErrors = bucketRequests
        requests = Array(repeating: 0, count: backends)
        errors = requests
    }

    /// Counts one outcome of `backend` at `time`. A time older than the window (a caller that read
    /// the clock long before it got here) is not counted.
    @inline(__always)
    mutating func add(backend: Int, failed: Bool, at time: Duration) {
        let tick = advance(to: time)
        guard tick > head - Int64(bucketCount) else { return }
        let index = slot(tick) * backendCount + backend
        bucketRequests[index] &+= 1
        requests[backend] += 1
        if failed {
            bucketErrors[index] &+= 1
            errors[backend] += 1
        }
    }

    /// Forgets what `backend` did (an operator restored it).
    mutating func reset(backend: Int) {
        for slot in 0..<bucketCount {
            bucketRequests[slot * backendCount + backend] = 0
            bucketErrors[slot * backendCount + backend] = 0
        }
        requests[backend] = 0
        errors[backend] = 0
    }

    /// Moves the window to `time`, dropping the buckets that left it; returns `time`'s bucket
    /// number.
    @discardableResult
    @inline(__always)
    mutating func advance(to time: Duration) -> Int64 {
        if time >= headStart && time < headEnd { return head }
        return advanceSlowly(to: time)
    }

    private mutating func advanceSlowly(to time: Duration) -> Int64 {
        guard hasOrigin else {
            hasOrigin = true
            origin = time
            (head, headStart, headEnd) = (0, time, time + bucketLength)
            return 0
        }
        let (seconds, attoseconds) = (time - origin).components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        let bucketNanoseconds = Int64(bucketSeconds) * 1_000_000_000
        var tick = nanoseconds / bucketNanoseconds
        if nanoseconds % bucketNanoseconds < 0 { tick -= 1 }
        guard tick > head else { return tick }
        let cleared = min(tick - head, Int64(bucketCount))
        for step in 1...cleared {
            let base = slot(head + step) * backendCount
            for backend in 0..<backendCount {
                requests[backend] -= Int(bucketRequests[base + backend])
                errors[backend] -= Int(bucketErrors[base + backend])
                bucketRequests[base + backend] = 0
                bucketErrors[base + backend] = 0
            }
        }
        head = tick
        headStart = origin + bucketLength * tick
        headEnd = headStart + bucketLength
        return tick
    }

    @inline(__always)
    private func slot(_ tick: Int64) -> Int {
        let slot = Int(tick % Int64(bucketCount))
        return slot < 0 ? slot + bucketCount : slot
    }
}
