import Foundation
import GeoFrontCore
import NIOConcurrencyHelpers

/// This instance's health votes in etcd: one leased key per checked target of the current
/// configuration (``FleetHealthVote``), kept in step with the instance's own checks by
/// ``FleetInstanceRecord``'s loop, on the record's lease. A key is written when its verdict
/// changes, deleted when its target leaves the configuration, and everything is written again
/// after a new lease or a failed call (etcd restarted, connection lost), so a dead instance's
/// votes go with its lease and a live one's come back.
public final class FleetHealthVotes: Sendable {
    public let instance: String
    private let client: EtcdClient
    private let registry: HealthRegistry
    private struct State {
        /// What is in etcd, by key, as far as this instance knows (nil: to be written again).
        var written: [String: FleetHealthVote?] = [:]
        /// Each target's verdict and since when, by key.
        var since: [String: (up: Bool, since: String)] = [:]
    }
    private let state = NIOLockedValueBox(State())

    public init(instance: String, client: EtcdClient, registry: HealthRegistry) {
        self.instance = instance
        self.client = client
        self.registry = registry
    }

    /// The votes the instance's own checks make now, by key.
    func current(now: Date = Date()) -> [String: FleetHealthVote] {
        let prefix = client.endpoint.healthPrefix
        let snapshots = registry.monitor.targetSnapshots()
        return state.withLockedValue { state in
            var votes: [String: FleetHealthVote] = [:]
            for snapshot in snapshots {
                let target = snapshot.target.description
                let key = FleetHealthVote.key(
                    healthPrefix: prefix, instance: instance, region: snapshot.region, target: target)
                let up = snapshot.health.isHealthy
                if state.since[key]?.up != up {
                    state.since[key] = (up, ISO8601DateFormatter().string(from: now))
                }
                var reason: String?
                if !up {
                    if case .fail(let failure) = snapshot.health.lastResult {
                        reason = failure.description
                    } else {
                        reason = "recovering"
                    }
                }
                votes[key] = FleetHealthVote(
                    region: snapshot.region, target: target, up: up, since: state.since[key]!.since, reason: reason)
            }
            state.since = state.since.filter { votes[$0.key] != nil }
            return votes
        }
    }

    /// Writes what changed since the last call under `lease`, and deletes the votes of targets
    /// that are gone.
    func sync(lease: Int64) async throws {
        let votes = current()
        let written = state.withLockedValue { $0.written }
        for (key, vote) in votes.sorted(by: { $0.key < $1.key }) where written[key] != .some(vote) {
            try await client.put(key, vote.json(), lease: lease)
            state.withLockedValue { $0.written[key] = vote }
        }
        for key in written.keys.sorted() where votes[key] == nil {
            try await client.delete(key)
            _ = state.withLockedValue { $0.written.removeValue(forKey: key) }
        }
    }

    /// Etcd may no longer hold what was written (a new lease, a failed call): the next
    /// ``sync(lease:)`` writes every vote again.
    func forget() {
        // Kept as keys (without a vote), so a target gone meanwhile is still deleted.
        state.withLockedValue { $0.written = $0.written.mapValues { _ in nil } }
    }
}
