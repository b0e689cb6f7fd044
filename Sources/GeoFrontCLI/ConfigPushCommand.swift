import ArgumentParser
import Foundation
import GeoFrontCore
import GeoFrontServer

/// `geofront config push FILE --etcd etcd://HOST:PORT/PREFIX`: validates FILE as `check-config`
/// does and, only when it passes, puts it at `PREFIX/config`, where every instance following
/// that prefix applies it. Prints the new revision.
struct ConfigPushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Validate a configuration file and put it into etcd for the fleet; print the new revision."
    )

    @Argument(help: "The regions.json to push.")
    var file: String

    @Option(name: .long, help: "The fleet's etcd address: etcd://HOST:PORT/PREFIX.")
    var etcd: String

    @Option(name: .long, help: "Validate with this .mmdb file instead of the configuration's geoip.database.")
    var db: String?

    func run() async throws {
        let endpoint = try reportingErrors { try EtcdEndpoint.parse(etcd) }
        let key = endpoint.configKey
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            printError("\(file): cannot be read; nothing was put into etcd")
            throw ExitCode.failure
        }
        do {
            try Self.validate(data, file: file, db: db)
        } catch {
            printError("refusing to put \(file) at \(key) in etcd at \(endpoint.address): \(error)")
            throw ExitCode.failure
        }
        do {
            let client = try EtcdClient(endpoint: endpoint)
            let revision = try await client.put(key, data)
            print("\(file): OK, put at \(key) in etcd at \(endpoint.address)")
            print("revision \(revision)")
        } catch {
            printError("cannot put \(file) at \(key): \(error)")
            throw ExitCode.failure
        }
    }

    /// What `check-config` checks, with relative paths resolved as an instance resolves them
    /// (against its working directory: a document in etcd has no folder).
    static func validate(_ data: Data, file: String, db: String?) throws {
        var config = try ConfigLoader.parse(data, baseDirectory: FileManager.default.currentDirectoryPath, file: file)
        if let db { config.geoip.database = db }
        let snapshot = try RoutingSnapshot.open(config: config)
        try UpstreamTLS.validate(snapshot.config)
        _ = try ListenerCertificates.validate(snapshot.config)
    }
}
