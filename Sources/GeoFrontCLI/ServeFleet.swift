import ArgumentParser
import Foundation
import GeoFrontServer
import Logging
import ServiceLifecycle

/// `serve --config etcd://…`: the configuration read from etcd (or the cache), and the services
/// that follow it and record the instance.
struct ServeFleet {
    let client: EtcdClient
    let store: EtcdConfigStore
    let loaded: EtcdStartup.Loaded
    let instanceID: String

    /// Logs where the configuration came from; loudly when it is the cache.
    func logStart(_ logger: Logger) {
        if let reason = loaded.cacheReason {
            logger.warning(
                "RUNNING FROM THE CONFIGURATION CACHE, NOT FROM ETCD: \(reason). Serving cached etcd revision \(loaded.document.revision) from \(store.cachePath ?? "-") until etcd answers",
                metadata: ["etcd": "\(store.endpoint)", "revision": "\(loaded.document.revision)"])
        } else {
            logger.info(
                "configuration from etcd",
                metadata: [
                    "etcd": "\(store.endpoint)", "key": "\(store.endpoint.configKey)",
                    "revision": "\(loaded.document.revision)", "instance": "\(instanceID)",
                ])
        }
        if let refused = loaded.refused {
            logger.error(
                "the configuration in etcd was refused",
                metadata: ["revision": "\(refused.revision)", "error": "\(refused.error)"])
        }
    }

    /// The instance record (with the health votes), the configuration watcher and the health
    /// aggregator (after the front door has started).
    func services(reloader: ConfigReloader, checker: HealthChecker, logger: Logger) -> [any Service] {
        do {
            try store.started(with: loaded.document, cache: loaded.cacheReason == nil)
        } catch {
            logger.error(
                "cannot write the configuration cache",
                metadata: ["path": "\(store.cachePath ?? "")", "error": "\(error)"])
        }
        let votes = FleetHealthVotes(instance: instanceID, client: client, registry: checker.registry)
        let record = FleetInstanceRecord(
            id: instanceID, client: client, revision: loaded.document.revision, logger: logger, votes: votes)
        if let refused = loaded.refused { record.refused(revision: refused.revision, error: refused.error) }
        let watcher = EtcdConfigWatcher(
            client: client, store: store, reloader: reloader, record: record, logger: logger,
            reachableAtStart: loaded.cacheReason == nil)
        let aggregator = FleetHealthAggregator(
            instance: instanceID, client: client, registry: checker.registry, checker: checker, logger: logger)
        return [record, watcher, aggregator]
    }
}

extension ServeCommand {
    /// With `--config etcd://…`, the first configuration; nil for a file.
    func loadFromEtcd() async throws -> ServeFleet? {
        guard EtcdEndpoint.isEtcdAddress(options.config) else {
            if configCache != nil || instanceId != nil {
                printError("--config-cache and --instance-id need --config etcd://HOST:PORT/PREFIX")
                throw ExitCode.failure
            }
            return nil
        }
        let endpoint = try reportingErrors { try EtcdEndpoint.parse(options.config) }
        let client = try reportingErrors { try EtcdClient(endpoint: endpoint) }
        let store = EtcdConfigStore(
            endpoint: endpoint, cachePath: configCache, baseDirectory: FileManager.default.currentDirectoryPath)
        do {
            let loaded = try await EtcdStartup.load(client: client, store: store)
            return ServeFleet(
                client: client, store: store, loaded: loaded, instanceID: instanceId ?? FleetInstanceRecord.defaultID())
        } catch {
            printError("cannot start: \(error)")
            throw ExitCode.failure
        }
    }
}
