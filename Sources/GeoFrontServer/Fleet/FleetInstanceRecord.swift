import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Keeps this instance's record (``FleetInstanceStatus``) under `PREFIX/instances/ID`, attached
/// to a lease of `ttl` seconds that it renews every `ttl / 3`: when the instance dies the lease
/// runs out and the record goes. A change (a revision applied or refused) is written within a
/// tenth of a second; while etcd is away the record is retried with backoff, and a lease etcd
/// forgot is replaced by a new one. On graceful shutdown the lease is revoked, so the record
/// goes at once.
///
/// The instance's health votes (``FleetHealthVotes``) live on the same lease and are kept in step
/// by the same loop: they go with the record.
public final class FleetInstanceRecord: Service, Sendable {
    public let id: String
    private let client: EtcdClient
    private let logger: Logger
    private let ttl: Int
    private let state: NIOLockedValueBox<(status: FleetInstanceStatus, dirty: Bool)>
    private let votes: FleetHealthVotes?

    public init(
        id: String, client: EtcdClient, revision: Int64, logger: Logger, ttl: Int = 10, votes: FleetHealthVotes? = nil
    ) {
        self.id = id
        self.votes = votes
        self.client = client
        self.logger = logger
        self.ttl = ttl
        let formatter = ISO8601DateFormatter()
        let status = FleetInstanceStatus(
            id: id, revision: revision, refused: nil, started: formatter.string(from: Date()),
            version: GeoFrontVersion.current)
        state = NIOLockedValueBox((status, true))
    }

    /// `hostname-pid`.
    public static func defaultID() -> String {
        // gethostname, not ProcessInfo.hostName, which may wait on a DNS lookup.
        var name = [UInt8](repeating: 0, count: 256)
        let found = name.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { gethostname($0.baseAddress!, $0.count - 1) == 0 }
        }
        let host = found ? String(decoding: name.prefix { $0 != 0 }, as: UTF8.self) : "geofront"
        return "\(host)-\(getpid())"
    }

    var key: String { client.endpoint.instancesPrefix + id }

    public var status: FleetInstanceStatus { state.withLockedValue { $0.status } }

    /// The instance now runs `revision`; a refusal of an earlier one no longer matters.
    public func applied(revision: Int64) {
        state.withLockedValue {
            $0.status.revision = revision
            if let refused = $0.status.refused, refused.revision <= revision { $0.status.refused = nil }
            $0.dirty = true
        }
    }

    /// The instance refused `revision` and keeps running what it ran.
    public func refused(revision: Int64, error: String) {
        state.withLockedValue {
            $0.status.refused = .init(revision: revision, error: error)
            $0.dirty = true
        }
    }

    public func run() async throws {
        let lease = NIOLockedValueBox<Int64?>(nil)
        await cancelWhenGracefulShutdown {
            await self.keepRecorded(lease: lease)
        }
        if let id = lease.withLockedValue({ $0 }) {
            try? await client.revokeLease(id)
        }
    }

    private func keepRecorded(lease box: NIOLockedValueBox<Int64?>) async {
        var backoff = Backoff()
        let clock = ContinuousClock()
        let renewEvery = Duration.milliseconds(ttl * 1000 / 3)
        var renewed = clock.now
        var failing = false
        while !Task.isCancelledOrShuttingDown {
            do {
                let lease: Int64
                if let current = box.withLockedValue({ $0 }) {
                    lease = current
                } else {
                    lease = try await client.grantLease(ttl: ttl)
                    box.withLockedValue { $0 = lease }
                    renewed = clock.now
                    state.withLockedValue { $0.dirty = true }
                    votes?.forget()
                }
                let record: FleetInstanceStatus? = state.withLockedValue {
                    guard $0.dirty else { return nil }
                    $0.dirty = false
                    return $0.status
                }
                if let record {
                    do {
                        try await client.put(key, record.json(), lease: lease)
                    } catch {
                        state.withLockedValue { $0.dirty = true }
                        throw error
                    }
                }
                try await votes?.sync(lease: lease)
                if clock.now - renewed >= renewEvery {
                    let left = try await client.keepAlive(lease: lease)
                    renewed = clock.now
                    if left <= 0 {
                        logger.warning(
                            "etcd forgot this instance's lease; recording it again", metadata: ["key": "\(key)"])
                        box.withLockedValue { $0 = nil }
                        continue
                    }
                }
                if failing {
                    logger.notice("instance record written to etcd again", metadata: ["key": "\(key)"])
                    failing = false
                }
                backoff.reset()
                try await Task.sleep(for: .milliseconds(100))
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelledOrShuttingDown { return }
                votes?.forget()
                let wait = backoff.next()
                if !failing {
                    logger.warning(
                        "cannot write this instance's record to etcd; retrying",
                        metadata: ["key": "\(key)", "error": "\(error)"])
                    failing = true
                }
                try? await Task.sleep(for: wait)
            }
        }
    }
}
