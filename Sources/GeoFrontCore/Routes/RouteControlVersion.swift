import Synchronization

/// ``RouteControl/version``: shared by a control and the ones that carry its routes over on
/// reload, so it only grows and a rollback recorded through a control being replaced still shows.
final class RouteControlVersion: Sendable {
    private let value = Atomic<UInt64>(0)

    var current: UInt64 { value.load(ordering: .acquiring) }

    func bump() { value.wrappingAdd(1, ordering: .releasing) }
}
