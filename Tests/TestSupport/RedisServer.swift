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
        port = try Self.freePort()
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        var arguments = ["-h", "127.0.0.1", "-p", String(port), "-n", String(database)]
        if let password { arguments += ["--no-auth-warning", "-a", password] }
        process.arguments = arguments + words
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    /// A TCP port nothing listens on now (the system's pick for port 0).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawHTTPError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw RawHTTPError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
