import Foundation
import GeoFrontCore
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Fleet mode's shared health: reads every instance's health votes (``FleetHealthVote``, leased
/// keys under `PREFIX/health/`) and, for the targets of regions whose `health_check` has a
/// `quorum`, writes the fleet's verdict (``FleetVerdict``) into the ``HealthMonitor``: a target is
/// down for routing when at least `quorum` of the live instances checking it see it down. The
/// checkers only write their own verdicts; this only turns votes into the state the selector
/// reads, in the background: requests never wait on etcd.
///
/// This instance's own vote is its monitor's state (not its key in etcd, which may lag). The
/// votes are read once and then watched (from the revision after the read, so nothing is lost);
/// the watch's connection is checked by a read every `probeInterval`. While etcd is unreachable
/// every target falls back to this instance's own view (never to "down"), the log says so and
/// so does `/status`; when etcd answers again the votes are read afresh.
public final class FleetHealthAggregator: Service, Sendable {
    private let instance: String
    private let client: EtcdClient
    private let registry: HealthRegistry
    private let checker: HealthChecker
    private let logger: Logger
    private let probeInterval: Duration
    private let recomputeInterval: Duration
    private struct State {
        /// Every other instance's votes, by key.
        var votes: [String: (instance: String, vote: FleetHealthVote)] = [:]
        /// Nil until the first read; false while etcd is unreachable.
        var reachable: Bool?
    }
    private let state = NIOLockedValueBox(State())

    public init(
        instance: String, client: EtcdClient, registry: HealthRegistry, checker: HealthChecker, logger: Logger,
        probeInterval: Duration = .seconds(5), recomputeInterval: Duration = .milliseconds(100)
    ) {
        self.instance = instance
        self.client = client
        self.registry = registry
        self.checker = checker
        self.logger = logger
        self.probeInterval = probeInterval
        self.recomputeInterval = recomputeInterval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.follow() }
                // Own verdicts change with every probe: picked up here, without etcd.
                group.addTask {
                    while !Task.isCancelledOrShuttingDown {
                        self.recompute()
                        try? await Task.sleep(for: self.recomputeInterval)
                    }
                }
                await group.waitForAll()
            }
        }
    }

    /// Reads the votes, then follows them; retries with backoff while etcd is away.
    private func follow() async {
        var backoff = Backoff()
        let prefix = client.endpoint.healthPrefix
        while !Task.isCancelledOrShuttingDown {
            do {
                let (values, revision) = try await client.listWithRevision(prefix: prefix)
                var votes: [String: (instance: String, vote: FleetHealthVote)] = [:]
                for value in values {
                    if let entry = entry(key: value.key, value: value.value) { votes[value.key] = entry }
                }
                let wasReachable = state.withLockedValue { state in
                    defer {
                        state.votes = votes
                        state.reachable = true
                    }
                    return state.reachable
                }
                if wasReachable == false {
                    logger.notice(
                        "etcd reachable again; routing on the fleet's health votes",
                        metadata: ["etcd": "\(client.endpoint)"])
                }
                backoff.reset()
                recompute()
                let watch = try await client.watch(prefix, from: revision + 1, prefix: true)
                let probe = Task { [client, probeInterval] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: probeInterval)
                        if Task.isCancelled { return }
                        do {
                            _ = try await client.get(client.endpoint.configKey)
                        } catch {
                            watch.close()
                            return
                        }
                    }
                }
                defer { probe.cancel() }
                for try await message in watch.messages {
                    try apply(message)
                }
                throw EtcdError("etcd ended the watch")
            } catch {
                if Task.isCancelledOrShuttingDown { return }
                let wasReachable = state.withLockedValue { state in
                    defer { state.reachable = false }
                    return state.reachable
                }
                if wasReachable != false {
                    logger.warning(
                        "etcd unreachable; health checks fall back to this instance's own view until it returns",
                        metadata: ["etcd": "\(client.endpoint)", "error": "\(error)"])
                }
                recompute()
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// One message of the watch: puts and deletes of votes.
    private func apply(_ message: Data) throws {
        guard let result = try EtcdWire.WatchMessage.decodedResult(of: message, watching: "the health votes") else {
            return
        }
        let events = result.events ?? []
        guard !events.isEmpty else { return }
        state.withLockedValue { state in
            for event in events {
                guard let kv = event.kv else { continue }
                let key = String(decoding: EtcdWire.decodeBase64(kv.key), as: UTF8.self)
                if event.type == "DELETE" {
                    state.votes.removeValue(forKey: key)
                } else if let entry = entry(key: key, value: EtcdWire.decodeBase64(kv.value)) {
                    state.votes[key] = entry
                }
            }
        }
        recompute()
    }

    /// Another instance's vote (nil: this instance's own, or unreadable).
    private func entry(key: String, value: Data) -> (instance: String, vote: FleetHealthVote)? {
        guard let owner = FleetHealthVote.instance(ofKey: key, healthPrefix: client.endpoint.healthPrefix),
            owner != instance, let vote = try? JSONDecoder().decode(FleetHealthVote.self, from: value)
        else { return nil }
        return (owner, vote)
    }

    /// Turns the votes into verdicts in the current monitor; republishes when a region's status
    /// changed.
    func recompute() {
        let monitor = registry.monitor
        let (votes, reachable) = state.withLockedValue { ($0.votes, $0.reachable) }
        var byTarget: [String: [FleetHealthVote]] = [:]
        var instances = Set<String>()
        for (owner, vote) in votes.values {
            byTarget[vote.region + "\u{0}" + vote.target, default: []].append(vote)
            instances.insert(owner)
        }
        registry.fleetHealth =
            switch reachable {
            case nil: "etcd not read yet: this instance's own view"
            case false: "etcd unreachable: this instance's own view"
            case true: "votes from etcd: \(instances.count + 1) instance\(instances.isEmpty ? "" : "s")"
            }
        let own = monitor.targetStates()
        let verdicts = monitor.regions.enumerated().map { regionIndex, region in
            region.healthTargets.enumerated().map { targetIndex, target -> FleetVerdict? in
                guard region.isChecked, let quorum = region.healthCheck?.quorum else { return nil }
                guard reachable == true else {
                    return .ownView(
                        quorum: quorum, because: reachable == nil ? "etcd not read yet" : "etcd unreachable")
                }
                let others = byTarget[region.id + "\u{0}" + target.description] ?? []
                let down = others.filter { !$0.up }.count + (own[regionIndex][targetIndex].isHealthy ? 0 : 1)
                return FleetVerdict(down: down, instances: others.count + 1, quorum: quorum)
            }
        }
        let before = monitor.fleetVerdicts()
        guard monitor.setFleetVerdicts(verdicts), monitor === registry.monitor else { return }
        checker.republish()
        for (regionIndex, region) in monitor.regions.enumerated() {
            for (targetIndex, target) in region.healthTargets.enumerated() {
                let old = before[regionIndex][targetIndex]
                let new = verdicts[regionIndex][targetIndex]
                guard let new, new.isDown != old?.isDown else { continue }
                logger.notice(
                    "fleet health verdict",
                    metadata: ["region": "\(region.id)", "target": "\(target)", "verdict": "\(new)"])
            }
        }
    }
}
