import GeoFrontCore
import NIOConcurrencyHelpers
import NIOCore

/// Hands the current ``RoutingSnapshot`` to every event loop.
///
/// Each event loop keeps its own reference, read by that loop's handlers only, so the request
/// path takes no lock and touches no shared atomic. ``publish(_:)`` (health changes, reloads)
/// swaps the reference on every loop; requests already running keep the snapshot they started
/// with.
public final class SnapshotPublisher: Sendable {
    private let perLoop: [ObjectIdentifier: NIOLoopBoundBox<RoutingSnapshot>]
    private let latest: NIOLockedValueBox<RoutingSnapshot>

    public init(initial: RoutingSnapshot, group: any EventLoopGroup) {
        var boxes: [ObjectIdentifier: NIOLoopBoundBox<RoutingSnapshot>] = [:]
        for loop in group.makeIterator() {
            boxes[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue(initial, eventLoop: loop)
        }
        perLoop = boxes
        latest = NIOLockedValueBox(initial)
    }

    /// The newest snapshot, for readers off the request path (admin, logs).
    public var current: RoutingSnapshot { latest.withLockedValue { $0 } }

    /// Makes `snapshot` the one every new request sees.
    public func publish(_ snapshot: RoutingSnapshot) {
        update { _ in snapshot }
    }

    /// Replaces the current snapshot with `transform(current)`. Updates are serialised, so two
    /// concurrent updates (a health change and a reload) can never publish out of order.
    public func update(_ transform: (RoutingSnapshot) -> RoutingSnapshot) {
        latest.withLockedValue { current in
            let snapshot = transform(current)
            current = snapshot
            for box in perLoop.values {
                box.eventLoop.execute { box.value = snapshot }
            }
        }
    }

    /// Publishes `monitor`'s statuses, if the monitor describes the current configuration (same
    /// regions and upstreams); a monitor left over from before a reload is ignored.
    public func publishStatuses(of monitor: HealthMonitor) {
        update { snapshot in snapshot.isDescribed(by: monitor) ? snapshot.with(statuses: monitor.statuses()) : snapshot
        }
    }

    /// The box a handler on `loop` reads from.
    func box(for loop: any EventLoop) -> NIOLoopBoundBox<RoutingSnapshot> {
        guard let box = perLoop[ObjectIdentifier(loop)] else {
            preconditionFailure("event loop \(loop) is not part of the server's group")
        }
        return box
    }
}
