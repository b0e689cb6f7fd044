import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server` (Debian's `redis-server` package) on a loopback port of its own, for the
/// tests of `rate_limit.store`: nothing saved to disk, no append-only file. It runs under a shell
/// that kills it once a stop file appears or the test process is gone, so it stops with
/// ``stop()``, with `deinit`, and even when the test process dies. (Signals to the shell or to
/// Redis cannot be relied on: they inherit the test process's signal mask, SIGTERM blocked.)
/// ``start()`` after ``stop()`` brings it back on the same port.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    private let password: String?
    private let lock = NSLock()
    private var running: (process: Process, stopFile: String)?

    /// Whether `redis-server` is installed (`scripts/test` installs it).
    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server")
    }

    /// Starts one on a free port; with `password`, clients must `AUTH`.
    public init(password: String? = nil) throws {
        port = try LoopbackPort.free()
        self.password = password
        try start()
    }

    deinit { stop() }

    /// `redis://127.0.0.1:PORT`.
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts the server (again) and waits (at most 30 s) until it answers PING.
    public func start() throws {
        try lock.withLock {
            guard running == nil else { return }
            var arguments = [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--logfile", "", "--loglevel", "warning", "--protected-mode", "no",
            ]
            if let password { arguments += ["--requirepass", password] }
            let stopFile = NSTemporaryDirectory() + "/geofront-redis-\(port)-\(UUID().uuidString).stop"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            // redis-server in the background, killed once the stop file exists or the test
            // process ($1) is gone.
            let script = """
                parent=$1; stop=$2; shift 2
                /usr/bin/redis-server "$@" & pid=$!
                while kill -0 "$parent" 2>/dev/null && [ ! -e "$stop" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
                kill -9 "$pid" 2>/dev/null; wait "$pid"; rm -f "$stop"
                """
            process.arguments =
                ["-c", script, "sh", String(ProcessInfo.processInfo.processIdentifier), stopFile] + arguments
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            running = (process, stopFile)
        }
        try waitUntilBlocking("redis-server on port \(port) to answer PING") {
            (try? command(["PING"])) == "PONG"
        }
    }

    /// Stops the server and waits until it has exited (its port is free again).
    public func stop() {
        let stopped = lock.withLock { () -> (process: Process, stopFile: String)? in
            defer { running = nil }
            return running
        }
        guard let stopped else { return }
        _ = FileManager.default.createFile(atPath: stopped.stopFile, contents: nil)
        // Not Process.waitUntilExit, which spins on a run loop; the shell is gone within 50 ms.
        while stopped.process.isRunning { usleep(5_000) }
    }

    /// Runs one command with `redis-cli` and returns its output without the final newline.
    @discardableResult
    public func command(_ words: [String], database: Int = 0) throws -> String {
        var arguments = ["-h", "127.0.0.1", "-p", String(port), "-n", String(database)]
        if let password { arguments += ["--no-auth-warning", "-a", password] }
        var text = try ProcessOutput.run("/usr/bin/redis-cli", arguments + words).output
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
