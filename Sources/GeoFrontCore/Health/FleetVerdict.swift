/// What the fleet's health votes make of one target (fleet mode with `health_check.quorum`): how
/// many of the live instances checking it see it down, and whether that reaches the quorum.
/// Written by the fleet health aggregator into the ``HealthMonitor``; the selector reads the
/// resulting statuses and never the votes themselves.
public struct FleetVerdict: Sendable, Hashable, CustomStringConvertible {
    /// Instances (this one included) that see the target down.
    public var down: Int
    /// Live instances that check the target (this one included).
    public var instances: Int
    /// `health_check.quorum`.
    public var quorum: Double
    /// Set when the votes cannot be read (etcd unreachable): the instance then routes on its own
    /// view, and this says why.
    public var fallback: String?

    public init(down: Int, instances: Int, quorum: Double, fallback: String? = nil) {
        self.down = down
        self.instances = instances
        self.quorum = quorum
        self.fallback = fallback
    }

    /// A verdict that leaves the target to this instance's own view, saying why.
    public static func ownView(quorum: Double, because reason: String) -> FleetVerdict {
        FleetVerdict(down: 0, instances: 0, quorum: quorum, fallback: reason)
    }

    /// Down for routing: at least `quorum` of the instances see it down. nil: the own view decides.
    public var isDown: Bool? {
        guard fallback == nil, instances > 0 else { return nil }
        // A small tolerance, so that 2 of 3 reaches a quorum written as 0.6666666.
        return Double(down) >= quorum * Double(instances) - 1e-9
    }

    /// "down by quorum: 2 of 3 instances see it down, quorum 0.66", "up: 1 of 3 instances see it
    /// down, quorum 0.66", "own view: etcd unreachable (quorum 0.66 not applied)".
    public var description: String {
        if let fallback { return "own view: \(fallback) (quorum \(Self.text(quorum)) not applied)" }
        let seen =
            "\(down) of \(instances) instance\(instances == 1 ? "" : "s") see\(instances == 1 ? "s" : "") it down"
        return (isDown == true ? "down by quorum: " : "up: ") + seen + ", quorum \(Self.text(quorum))"
    }

    /// `0.66`, `1`: the quorum as configured, without trailing zeros.
    static func text(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : "\(value)"
    }
}
