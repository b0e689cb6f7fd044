import Foundation
import Testing

@testable import GeoFrontCore

/// `health_check.quorum` (fleet mode's shared health): the key, the verdict's arithmetic and
/// text, and the monitor turning verdicts into the statuses the selector reads.
@Suite struct FleetQuorumTests {
    static func withQuorum(_ quorum: Any, region: Bool = false) -> [String] {
        ConfigLoaderTests.with { object in
            if region {
                var regions = object["regions"] as! [[String: Any]]
                regions[0]["health_check"] = ["quorum": quorum]
                object["regions"] = regions
            } else {
                object["health_check"] = ["quorum": quorum]
            }
        }
    }

    @Test func quorumIsReadGloballyAndPerRegion() throws {
        var object = ConfigLoaderTests.valid()
        object["health_check"] = ["quorum": 0.66]
        var regions = object["regions"] as! [[String: Any]]
        regions[1]["health_check"] = ["quorum": 1]
        regions[2]["health_check"] = ["quorum": NSNull()]
        object["regions"] = regions
        let config = try ConfigLoaderTests.parse(object)
        #expect(config.regions[0].healthCheck?.quorum == 0.66)
        #expect(config.regions[1].healthCheck?.quorum == 1)
        #expect(config.regions[2].healthCheck?.quorum == nil)
        object["health_check"] = ["path": "/up"]
        object["regions"] = ConfigLoaderTests.valid()["regions"]
        #expect(try ConfigLoaderTests.parse(object).regions[0].healthCheck?.quorum == nil)
    }

    @Test(arguments: [0, -0.5, 1.5, 2])
    func quorumOutOfRangeNamesTheKeyAndTheRange(_ value: Double) {
        let messages = Self.withQuorum(value)
        #expect(messages.count == 1, "\(messages)")
        #expect(messages.first?.contains("health_check.quorum") == true, "\(messages)")
        #expect(messages.first?.contains("greater than 0 and at most 1") == true, "\(messages)")
    }

    @Test func quorumOfTheWrongTypeNamesTheRegionsKey() {
        let messages = Self.withQuorum("2/3", region: true)
        #expect(messages.count == 1, "\(messages)")
        #expect(messages.first?.contains("regions[0].health_check.quorum") == true, "\(messages)")
        #expect(messages.first?.contains("expected a number") == true, "\(messages)")
    }

    @Test func verdictCountsAndText() {
        let one = FleetVerdict(down: 1, instances: 3, quorum: 0.66)
        #expect(one.isDown == false)
        #expect(one.description == "up: 1 of 3 instances see it down, quorum 0.66")
        let two = FleetVerdict(down: 2, instances: 3, quorum: 0.66)
        #expect(two.isDown == true)
        #expect(two.description == "down by quorum: 2 of 3 instances see it down, quorum 0.66")
        // 2 of 3 is 0.666…: a quorum written as 0.6666666667 is met; 0.67 is not.
        #expect(FleetVerdict(down: 2, instances: 3, quorum: 2.0 / 3.0).isDown == true)
        #expect(FleetVerdict(down: 2, instances: 3, quorum: 0.67).isDown == false)
        #expect(FleetVerdict(down: 3, instances: 3, quorum: 1).description.hasSuffix("quorum 1"))
        #expect(FleetVerdict(down: 1, instances: 1, quorum: 0.5).isDown == true)
        let fallback = FleetVerdict.ownView(quorum: 0.66, because: "etcd unreachable")
        #expect(fallback.isDown == nil)
        #expect(fallback.description == "own view: etcd unreachable (quorum 0.66 not applied)")
    }

    static func monitor(quorum: Double? = 0.66) throws -> HealthMonitor {
        var object = ConfigLoaderTests.valid()
        var regions = object["regions"] as! [[String: Any]]
        regions[1]["targets"] = ["127.0.0.1:9100"]
        regions[1]["health_check"] = ["rise": 1, "fall": 1, "quorum": quorum.map { $0 as Any } ?? NSNull()]
        object["regions"] = regions
        let config = try ConfigLoaderTests.parse(object)
        return HealthMonitor(regions: config.regions)
    }

    /// `verdict` for eu-central's target, none for the other regions' targets.
    static func verdicts(_ monitor: HealthMonitor, _ verdict: FleetVerdict?) -> [[FleetVerdict?]] {
        var all = monitor.fleetVerdicts()
        all[1][0] = verdict
        return all
    }

    @Test func aVerdictOverridesTheOwnViewBothWays() throws {
        let monitor = try Self.monitor()
        // Own view down, one of three: up for routing, with the votes in the status.
        _ = monitor.record(region: 1, target: 0, result: .fail(.connectionRefused))
        #expect(monitor.statuses()[1].isAvailable == false)
        #expect(monitor.setFleetVerdicts(Self.verdicts(monitor, FleetVerdict(down: 1, instances: 3, quorum: 0.66))))
        var status = monitor.statuses()[1]
        #expect(status.isAvailable)
        #expect(status.healthVotes == "up: 1 of 3 instances see it down, quorum 0.66")
        // The same verdicts again change nothing.
        #expect(!monitor.setFleetVerdicts(Self.verdicts(monitor, FleetVerdict(down: 1, instances: 3, quorum: 0.66))))

        // Own view up, two of three: down for routing, the reason naming the votes.
        _ = monitor.record(region: 1, target: 0, result: .pass(latencyMilliseconds: 1))
        #expect(monitor.setFleetVerdicts(Self.verdicts(monitor, FleetVerdict(down: 2, instances: 3, quorum: 0.66))))
        status = monitor.statuses()[1]
        #expect(!status.isAvailable)
        #expect(status.unavailableReason == "unhealthy: down by quorum: 2 of 3 instances see it down, quorum 0.66")

        // Etcd unreachable: the own view (up), never "everything down".
        #expect(monitor.setFleetVerdicts(Self.verdicts(monitor, .ownView(quorum: 0.66, because: "etcd unreachable"))))
        status = monitor.statuses()[1]
        #expect(status.isAvailable)
        #expect(status.healthVotes == "own view: etcd unreachable (quorum 0.66 not applied)")
        #expect(monitor.targetSnapshots().first?.fleet?.fallback == "etcd unreachable")
    }

    @Test func verdictsCarryOverAReloadWhileTheQuorumStays() throws {
        let monitor = try Self.monitor()
        _ = monitor.setFleetVerdicts(Self.verdicts(monitor, FleetVerdict(down: 2, instances: 3, quorum: 0.66)))
        let kept = HealthMonitor(regions: try Self.monitor(quorum: 0.5).regions, carryingOver: monitor)
        #expect(kept.fleetVerdicts()[1][0] == FleetVerdict(down: 2, instances: 3, quorum: 0.5))
        #expect(!kept.statuses()[1].isAvailable)
        let dropped = HealthMonitor(regions: try Self.monitor(quorum: nil).regions, carryingOver: monitor)
        #expect(dropped.fleetVerdicts()[1][0] == nil)
        #expect(dropped.statuses()[1].isAvailable)
    }
}
