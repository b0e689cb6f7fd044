import ArgumentParser
import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the front door (the default command). SIGTERM or SIGINT stops it gracefully."
    )

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Listen on this host:port instead of the configuration's listen.")
    var listen: String?

    @Option(name: .long, help: "Event-loop threads (default: server.threads, else one per core).")
    var threads: Int = 0

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --config etcd://…: keep the last applied configuration in this file, and start from it when etcd is unreachable.",
            valueName: "path"))
    var configCache: String?

    @Option(
        name: .long,
        help: "With --config etcd://…: this instance's name under PREFIX/instances/ (default: hostname-pid).")
    var instanceId: String?

    func run() async throws {
        let fleet = try await loadFromEtcd()
        var config = try fleet?.loaded.config ?? reportingErrors { try options.loadConfig() }
        if fleet != nil, let database = options.db { config.geoip.database = database }
        if let listen {
            config.listen = try reportingErrors { try HostPort.parse(listen, allowZeroPort: true).get() }
        }
        let snapshot = try reportingErrors { try RoutingSnapshot.open(config: config) }
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "geofront")
        fleet?.logStart(logger)
        let metadata = snapshot.database.metadata
        logger.info(
            "database loaded",
            metadata: [
                "path": "\(config.geoip.database)", "type": "\(metadata.databaseType)",
                "built": "\(metadata.buildDate)", "allocator": "\(Allocator.description)",
            ])
        let server: FrontDoorServer
        do {
            server = try await FrontDoorServer.start(snapshot: snapshot, threads: threads, logger: logger)
        } catch {
            printError("cannot start on \(config.listen): \(error)")
            throw ExitCode.failure
        }
        let checker = HealthChecker(
            registry: server.health, prober: HealthProber(group: server.eventLoopGroup, instanceID: fleet?.instanceID),
            publisher: server.publisher, logger: logger, metrics: server.metrics)
        let overrides = (database: options.db, listen: config.listen)
        let prepare: @Sendable (GeoFrontConfig) -> GeoFrontConfig = { loaded in
            var loaded = loaded
            if let database = overrides.database { loaded.geoip.database = database }
            loaded.listen = overrides.listen
            return loaded
        }
        let reloader =
            fleet.map { fleet in
                let store = fleet.store
                return ConfigReloader(
                    source: store.endpoint.description, baseDirectory: store.baseDirectory, server: server,
                    logger: logger, load: { try store.loadCurrent() }, prepare: prepare)
            } ?? ConfigReloader(configPath: options.config, server: server, logger: logger, prepare: prepare)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: server), .init(service: checker), .init(service: SignalReloadService(reloader: reloader)),
            .init(service: WatchedFilesReloader(reloader: reloader, publisher: server.publisher)),
        ]
        if let fleet {
            services += fleet.services(reloader: reloader, checker: checker, logger: logger).map { .init(service: $0) }
        }
        if let adminListen = config.admin.listen {
            let token =
                config.admin.token
                ?? ProcessInfo.processInfo.environment[config.admin.tokenEnvironmentVariable].flatMap {
                    $0.isEmpty ? nil : $0
                }
            do {
                let admin = try await AdminServer.start(
                    listen: adminListen, token: token, server: server, checker: checker, reloader: reloader,
                    logger: logger)
                services.append(.init(service: admin))
            } catch {
                printError("cannot start the admin listener on \(adminListen): \(error)")
                try? await server.stop()
                throw ExitCode.failure
            }
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
