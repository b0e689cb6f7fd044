import Synchronization

/// How loaded each region is (`config.regions` order; a service's place in a region counts for the
/// region), shared by every event loop: proxied requests in flight and requests sent in the
/// current second, against the region's `capacity`.
/// Relaxed atomics in one allocation: counting takes no lock and retains nothing. Shared by every
/// snapshot of one configuration (health changes keep it); a reload makes a new one.
public final class RegionLoad: @unchecked Sendable {
    /// Per region: `[3 * region]` requests in flight, `[3 * region + 1]` the current second,
    /// `[3 * region + 2]` requests sent in it.
    private let counters: UnsafeMutablePointer<Atomic<Int>>
    public let capacities: [RegionCapacity?]

    public init(capacities: [RegionCapacity?]) {
        self.capacities = capacities
        counters = .allocate(capacity: 3 * capacities.count)
        for index in 0..<(3 * capacities.count) { (counters + index).initialize(to: Atomic(0)) }
    }

    deinit {
        counters.deinitialize(count: 3 * capacities.count)
        counters.deallocate()
    }

    /// Whether region `index` takes no new request now (at `second`, a monotonic second).
    @inline(__always)
    public func isFull(_ index: Int, second: Int) -> Bool {
        guard let capacity = capacities[index] else { return false }
        if let max = capacity.maxActiveRequests, counters[3 * index].load(ordering: .relaxed) >= max { return true }
        if let max = capacity.maxRequestsPerSecond, counters[3 * index + 1].load(ordering: .relaxed) == second,
            counters[3 * index + 2].load(ordering: .relaxed) >= max
        {
            return true
        }
        return false
    }

    /// A request was sent to region `index` (for `max_rps`).
    @inline(__always)
    public func sent(_ index: Int, second: Int) {
        guard capacities[index]?.maxRequestsPerSecond != nil else { return }
        if counters[3 * index + 1].load(ordering: .relaxed) != second {
            // A new second: whoever sees it first restarts the count (a few requests of the
            // turn of the second may be counted in either).
            if counters[3 * index + 1].exchange(second, ordering: .relaxed) != second {
                counters[3 * index + 2].store(0, ordering: .relaxed)
            }
        }
        counters[3 * index + 2].wrappingAdd(1, ordering: .relaxed)
    }

    /// A proxied request to region `index` started (`+1`) or ended (`-1`).
    @inline(__always)
    public func inFlight(_ index: Int, _ change: Int) {
        guard capacities[index]?.maxActiveRequests != nil else { return }
        counters[3 * index].wrappingAdd(change, ordering: .relaxed)
    }

    /// Whole seconds of a monotonic clock (the `max_rps` window).
    public static var currentSecond: Int {
        Int(epoch.duration(to: ContinuousClock.now).components.seconds)
    }

    private static let epoch = ContinuousClock.now

    /// Requests in flight to region `index` now.
    public func active(_ index: Int) -> Int { counters[3 * index].load(ordering: .relaxed) }
}
