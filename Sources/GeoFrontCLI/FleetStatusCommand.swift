import ArgumentParser
import Foundation
import GeoFrontServer

/// `geofront fleet status --etcd etcd://HOST:PORT/PREFIX`: the live instances (their leased
/// records under `PREFIX/instances/`), the configuration revision each runs, what each refused and
/// its health votes (leased keys under `PREFIX/health/ID/`).
struct FleetStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "List the live instances, the configuration revision each runs, what each refused and its health votes."
    )

    @Option(name: .long, help: "The fleet's etcd address: etcd://HOST:PORT/PREFIX.")
    var etcd: String

    @Flag(name: .long, help: "One JSON object per instance (its record as stored), one per line.")
    var json = false

    func run() async throws {
        let endpoint = try reportingErrors { try EtcdEndpoint.parse(etcd) }
        let client = try reportingErrors { try EtcdClient(endpoint: endpoint) }
        let records: [EtcdClient.KeyValue]
        let current: EtcdClient.KeyValue?
        let votes: [EtcdClient.KeyValue]
        do {
            records = try await client.list(prefix: endpoint.instancesPrefix)
            votes = try await client.list(prefix: endpoint.healthPrefix)
            current = try await client.get(endpoint.configKey).value
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
        if json {
            for record in records { print(String(decoding: record.value, as: UTF8.self)) }
            return
        }
        print("config \(endpoint.configKey): " + (current.map { "revision \($0.modRevision)" } ?? "none"))
        print("instances \(records.count)")
        guard !records.isEmpty else { return }
        print("  \("ID".padding(28)) \("REVISION".padding(9)) \("STARTED".padding(21)) REFUSED")
        for record in records {
            guard let status = try? JSONDecoder().decode(FleetInstanceStatus.self, from: record.value) else {
                print("  \(record.key.dropFirst(endpoint.instancesPrefix.count)) (unreadable record)")
                continue
            }
            let behind =
                current.map { status.revision < $0.modRevision && status.refused?.revision != $0.modRevision } ?? false
            let refused =
                status.refused.map {
                    "revision \($0.revision): "
                        + $0.error.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                        .joined(separator: "; ")
                } ?? "-"
            print(
                "  \(status.id.padding(28)) \(String(status.revision).padding(9)) \(status.started.padding(21)) \(refused)"
                    + (behind ? "  (behind)" : ""))
            for vote in votes
            where FleetHealthVote.instance(ofKey: vote.key, healthPrefix: endpoint.healthPrefix) == status.id {
                guard let decoded = try? JSONDecoder().decode(FleetHealthVote.self, from: vote.value) else { continue }
                let reason = decoded.reason.map { " (\($0))" } ?? ""
                print(
                    "    health \(decoded.region) \(decoded.target): \(decoded.up ? "up" : "down")\(reason) since \(decoded.since)"
                )
            }
        }
    }
}
