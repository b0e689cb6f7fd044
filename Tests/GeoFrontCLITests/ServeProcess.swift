import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `geofront serve` as a child process. Its configuration listens on port 0; the ports it got
/// are read back from its log, so no other test can take them in between (as a "free port"
/// picked beforehand could be).
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    private(set) var port = 0
    private(set) var adminPort = 0
    private let lock = NSLock()
    private var logText = ""

    /// Starts `geofront serve --config path` (then `arguments`) and waits (at most 30 s) until the
    /// front door and, when `admin`, the admin listener are up.
    init(configPath: String, admin: Bool = false, arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = ["serve", "--config", configPath, "--log-level", "info"] + arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let reader = errors.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                lock.withLock { logText += String(decoding: data, as: UTF8.self) }
            }
        }
        for _ in 0..<600 {
            let text = log
            if let port = Self.port(in: text, event: "] listening"),
                !admin || Self.port(in: text, event: "] admin listening") != nil
            {
                self.port = port
                adminPort = Self.port(in: text, event: "] admin listening") ?? 0
                return
            }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        stop()
        throw RawHTTPError("geofront serve did not come up:\n\(log)")
    }

    /// Everything the process has logged so far.
    var log: String { lock.withLock { logText } }

    /// The port of the first log line ending in `event` (`… address=[IPv4]127.0.0.1/127.0.0.1:PORT [GeoFrontServer] listening`).
    private static func port(in log: String, event: String) -> Int? {
        for line in log.split(separator: "\n") where line.hasSuffix(event) {
            guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("address=") }),
                let colon = field.lastIndex(of: ":")
            else { continue }
            return Int(field[field.index(after: colon)...])
        }
        return nil
    }

    /// A keep-alive connection to the front door.
    func connect(timeoutSeconds: Int = 5) throws -> RawHTTPClient {
        try RawHTTPClient(port: port, timeoutSeconds: timeoutSeconds)
    }

    /// SIGTERM, then waits for the exit.
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
