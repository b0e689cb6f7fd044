import Foundation
import TestSupport

/// A server written in Python among the fixtures (`h2upstream.py`, `grpc_service.py serve`), as a
/// process: started with its arguments, ready once it printed "ready PORT", and stopped by closing
/// its standard input (it exits then; a test that fails before `stop` still ends it, since the
/// pipe closes with the test process). Blocking calls (`init`) go through `offThePool`.
final class PythonService: Sendable {
    private let script: FixtureProcess
    let port: Int

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    /// Starts `script` with `arguments` and waits for its "ready PORT" line (blocks: run it with
    /// `offThePool`).
    init(_ script: String, _ arguments: [String] = []) throws {
        self.script = try FixtureProcess(script, arguments)
        guard let line = self.script.readLine() else {
            throw Failed(description: "\(script) ended before it was ready")
        }
        guard line.hasPrefix("ready "), let port = Int(line.dropFirst("ready ".count)) else {
            throw Failed(description: "\(script) said \(line)")
        }
        self.port = port
    }

    var address: String { "127.0.0.1:\(port)" }

    /// The process is still running (a service that exits by itself, as one test's does).
    var isRunning: Bool { script.isRunning }

    /// Ends the service and returns what it printed after "ready" (blocks: run it with
    /// `offThePool`).
    func finish() -> String {
        script.closeInput()
        return script.readToEnd()
    }

    /// Ends the service: it exits when its standard input closes. Nothing waits here (this runs
    /// in `defer` on Swift's cooperative pool, which must never block).
    func stop() {
        script.closeInput()
    }
}
