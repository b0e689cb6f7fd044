import ArgumentParser
import Dispatch
import GeoFrontCore
import GeoFrontServer
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the front door (the default command)."
    )

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Listen on this host:port instead of the configuration's listen.")
    var listen: String?

    @Option(name: .long, help: "Event-loop threads (default: server.threads, else one per core).")
    var threads: Int = 0

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        var config = try reportingErrors { try options.loadConfig() }
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
        let metadata = snapshot.database.metadata
        logger.info(
            "database loaded",
            metadata: [
                "path": "\(config.geoip.database)", "type": "\(metadata.databaseType)",
                "built": "\(metadata.buildDate)",
            ])
        let server: FrontDoorServer
        do {
            server = try await FrontDoorServer.start(snapshot: snapshot, threads: threads, logger: logger)
        } catch {
            printError("cannot listen on \(config.listen): \(error)")
            throw ExitCode.failure
        }
        await waitForTerminationSignal()
        logger.info("shutting down")
        try await server.stop()
    }

    /// Suspends until SIGINT or SIGTERM.
    private func waitForTerminationSignal() async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let queue = DispatchQueue(label: "geofront.signals")
            let once = SignalOnce(continuation)
            for number in [SIGINT, SIGTERM] {
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { once.fire() }
                source.resume()
                once.retain(source)
            }
        }
    }
}

/// Resumes a continuation on the first signal; lives on one serial queue.
private final class SignalOnce: @unchecked Sendable {
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<Void, Never>) {
        self.continuation = continuation
    }

    func retain(_ source: any DispatchSourceSignal) { sources.append(source) }

    func fire() {
        continuation?.resume()
        continuation = nil
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
