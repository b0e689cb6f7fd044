import Synchronization

/// A route's running totals per backend in ``RouteControl``: every outcome the proxy reported,
/// counted without a lock (relaxed atomics: each total is exact; a request and its error are not
/// read together atomically). The atomics sit in one allocation owned by this value, so counting
/// retains no object.
struct BackendTotals: ~Copyable, @unchecked Sendable {
    /// `[2 * backend]`: requests, `[2 * backend + 1]`: errors.
    private let counters: UnsafeMutablePointer<Atomic<UInt64>>
    let count: Int

    /// `count` backends, starting from `initial` (requests, errors) when given.
    init(count: Int, initial: [(requests: UInt64, errors: UInt64)] = []) {
        self.count = count
        counters = .allocate(capacity: 2 * count)
        for backend in 0..<count {
            let start: (requests: UInt64, errors: UInt64) = backend < initial.count ? initial[backend] : (0, 0)
            (counters + 2 * backend).initialize(to: Atomic(start.requests))
            (counters + 2 * backend + 1).initialize(to: Atomic(start.errors))
        }
    }

    deinit {
        counters.deinitialize(count: 2 * count)
        counters.deallocate()
    }

    @inline(__always)
    func add(backend: Int, failed: Bool) {
        precondition(backend >= 0 && backend < count, "backend index out of range")
        counters[2 * backend].wrappingAdd(1, ordering: .relaxed)
        if failed { counters[2 * backend + 1].wrappingAdd(1, ordering: .relaxed) }
    }

    func requests(_ backend: Int) -> UInt64 { counters[2 * backend].load(ordering: .relaxed) }

    func errors(_ backend: Int) -> UInt64 { counters[2 * backend + 1].load(ordering: .relaxed) }

    /// Every backend's (requests, errors).
    var all: [(requests: UInt64, errors: UInt64)] { (0..<count).map { (requests($0), errors($0)) } }
}
