import GeoFrontCore
import NIOConcurrencyHelpers

/// Holds the current ``HealthMonitor``. A reload replaces it (carrying over the state of
/// unchanged targets); the active checker restarts its probes for the new one, and outlier
/// detection writes to whichever monitor is current.
public final class HealthRegistry: Sendable {
    private let box: NIOLockedValueBox<HealthMonitor>
    private let (changeStream, changeContinuation) = AsyncStream.makeStream(
        of: Void.self, bufferingPolicy: .bufferingNewest(1))

    public init(_ monitor: HealthMonitor) {
        box = NIOLockedValueBox(monitor)
    }

    public var monitor: HealthMonitor { box.withLockedValue { $0 } }

    private let fleetBox = NIOLockedValueBox<String?>(nil)

    /// Fleet mode: where the health routing goes by comes from ("votes from etcd: 3 instances",
    /// "etcd unreachable: this instance's own view"); nil without etcd.
    public var fleetHealth: String? {
        get { fleetBox.withLockedValue { $0 } }
        set { fleetBox.withLockedValue { $0 = newValue } }
    }

    /// Makes `monitor` current and wakes the checker.
    public func replace(_ monitor: HealthMonitor) {
        box.withLockedValue { $0 = monitor }
        changeContinuation.yield()
    }

    /// One element per replacement.
    var changes: AsyncStream<Void> { changeStream }

    func finish() { changeContinuation.finish() }
}
