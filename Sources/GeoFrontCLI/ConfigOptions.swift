import ArgumentParser
import GeoFrontCore
import GeoFrontServer
import GeoIP

/// `--config` and `--db`, shared by every subcommand.
struct ConfigOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Path of the configuration file (`serve` also takes etcd://HOST:PORT/PREFIX: the document at PREFIX/config)."
    )
    var config: String = "regions.json"

    @Option(name: .long, help: "Use this .mmdb file instead of the configuration's geoip.database.")
    var db: String?

    /// The validated configuration with `--db` applied.
    func loadConfig() throws -> GeoFrontConfig {
        if EtcdEndpoint.isEtcdAddress(config) {
            throw ValidationError(
                "only `serve` reads its configuration from etcd; give this command a file (`geofront config push` validates one)"
            )
        }
        var loaded = try ConfigLoader.load(path: config)
        if let db { loaded.geoip.database = db }
        return loaded
    }

    /// The configuration and its opened database.
    func loadSnapshot() throws -> RoutingSnapshot {
        try RoutingSnapshot.open(config: loadConfig())
    }
}
