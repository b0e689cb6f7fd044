import Foundation
import GeoFrontCore
import GeoIP
import Logging
import NIOConcurrencyHelpers
import NIOSSL

/// Live reload: re-reads the configuration file and the GeoIP database, validates everything,
/// and only then swaps the routing snapshot. Requests in flight finish on the snapshot they
/// started with; health state carries over for targets that did not change. A failed reload
/// changes nothing and says why.
///
/// What cannot change without a restart: the listen addresses, the number of event loops and
/// `tls.alpn` (a reload that changes them is applied otherwise and logs a warning). The
/// `server.h2*` keys apply to connections accepted after the reload.
public final class ConfigReloader: Sendable {
    public struct Outcome: Sendable {
        public let generation: UInt64
        public let warnings: [String]
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Where the configuration comes from: a file's path, or an `etcd://` address.
    let configPath: String
    /// The folder relative paths in a candidate configuration resolve against.
    let baseDirectory: String
    let prepare: @Sendable (GeoFrontConfig) -> GeoFrontConfig
    private let load: @Sendable () throws -> GeoFrontConfig
    private let server: FrontDoorServer
    private let logger: Logger

    /// Reloads from the file at `configPath`.
    /// - Parameter prepare: applied to every loaded configuration (command-line overrides such as
    ///   `--db` and `--listen`).
    public convenience init(
        configPath: String, server: FrontDoorServer, logger: Logger,
        prepare: @escaping @Sendable (GeoFrontConfig) -> GeoFrontConfig = { $0 }
    ) {
        self.init(
            source: configPath, baseDirectory: URL(fileURLWithPath: configPath).deletingLastPathComponent().path,
            server: server, logger: logger, load: { try ConfigLoader.load(path: configPath) }, prepare: prepare)
    }

    /// Reloads whatever `load` reads (the latest document from etcd, say), through the same
    /// validation and swap as a file.
    /// - Parameter source: named in logs and used by `POST /preview`.
    public init(
        source: String, baseDirectory: String, server: FrontDoorServer, logger: Logger,
        load: @escaping @Sendable () throws -> GeoFrontConfig,
        prepare: @escaping @Sendable (GeoFrontConfig) -> GeoFrontConfig = { $0 }
    ) {
        self.configPath = source
        self.baseDirectory = baseDirectory
        self.load = load
        self.server = server
        self.logger = logger
        self.prepare = prepare
    }

    /// Reloads now. Reloads never overlap.
    @discardableResult
    public func reload(reason: String) async -> Result<Outcome, Failure> {
        let result = await withSerialization { await self.reloadOnce() }
        switch result {
        case .success(let outcome):
            server.metrics.reloadsOK.increment()
            logger.notice(
                "configuration reloaded", metadata: ["reason": "\(reason)", "generation": "\(outcome.generation)"])
            for warning in outcome.warnings { logger.warning("\(warning)") }
        case .failure(let failure):
            server.metrics.reloadsFailed.increment()
            logger.error(
                "reload failed; the previous configuration keeps serving",
                metadata: ["reason": "\(reason)", "error": "\(failure)"])
        }
        return result
    }

    private func reloadOnce() async -> Result<Outcome, Failure> {
        let current = server.publisher.current
        let config: GeoFrontConfig
        let snapshot: RoutingSnapshot
        do {
            config = prepare(try load())
            snapshot = try RoutingSnapshot.open(
                config: config, generation: current.generation + 1, carryingOver: current.routeControl)
        } catch {
            return .failure(Failure(description: "\(error)"))
        }
        let tls: UpstreamTLS.Contexts
        var listenerCertificates: [ListenerCertificates.Loaded]?
        do {
            tls = try UpstreamTLS.contexts(for: config)
            // Certificates are loaded and checked before anything changes, so a bad file keeps
            // the old certificates (and the old configuration) serving.
            if let settings = config.tls, server.certificates != nil {
                listenerCertificates = try ListenerCertificates.load(settings)
            }
        } catch {
            return .failure(Failure(description: "\(error)"))
        }
        var warnings: [String] = []
        if config.tls?.listen != current.config.tls?.listen || (config.tls == nil) != (current.config.tls == nil) {
            warnings.append("tls.listen changed: takes effect after a restart")
        }
        if let alpn = config.tls?.alpn, let before = current.config.tls?.alpn, alpn != before {
            warnings.append("tls.alpn changed: takes effect after a restart")
        }
        if config.listen != current.config.listen {
            warnings.append("listen changed to \(config.listen): takes effect after a restart")
        }
        if config.server.threads != current.config.server.threads {
            warnings.append("server.threads changed: takes effect after a restart")
        }
        if config.admin.listen != current.config.admin.listen {
            warnings.append("admin.listen changed: takes effect after a restart")
        }
        await server.setUpstreamTLS(tls)
        // A configuration without `rate_limit.store` closes the loops' Redis connections now
        // (another store is connected at its first use).
        if config.rateLimit?.store == nil { await server.closeRateLimitStores() }
        if let listenerCertificates { server.certificates?.replace(listenerCertificates) }
        let monitor = HealthMonitor(
            regions: config.deployments, outlierDetection: config.proxy.outlierDetection,
            carryingOver: server.health.monitor)
        // The new monitor first: from now on only its statuses can be published.
        server.health.replace(monitor)
        let published = snapshot.with(statuses: monitor.statuses())
        server.publisher.publish(published)
        server.metrics.recordRegionStatuses(published)
        return .success(Outcome(generation: published.generation, warnings: warnings))
    }

    private func withSerialization<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        await ReloadQueue.shared.run(body)
    }
}

/// Runs reloads one at a time.
private actor ReloadQueue {
    static let shared = ReloadQueue()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        while busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        let result = await body()
        busy = false
        if !waiters.isEmpty { waiters.removeFirst().resume() }
        return result
    }
}
