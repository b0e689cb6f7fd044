import Foundation
import TestSupport

/// A server written in Python among the fixtures (`h2upstream.py`, `grpc_service.py serve`), as a
/// process: started with its arguments, ready once it printed "ready PORT", and stopped by closing
/// its standard input (it exits then; a test that fails before `stop` still ends it, since the
/// pipe closes with the test process). Blocking calls (`init`) go through `offThePool`.
final class PythonService: Sendable {
    private let process: Process
    private let input: FileHandle
    private let output: FileHandle
    let port: Int

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    /// Starts `script` with `arguments` and waits for its "ready PORT" line (blocks: run it with
    /// `offThePool`).
    init(_ script: String, _ arguments: [String] = []) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Fixtures.fixture(script)] + arguments
        let output = Pipe()
        let inputPipe = Pipe()
        process.standardOutput = output
        process.standardInput = inputPipe
        process.standardError = FileHandle.nullDevice
        input = inputPipe.fileHandleForWriting
        self.output = output.fileHandleForReading
        try process.run()
        var line: [UInt8] = []
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            guard let first = byte.first else {
                throw Failed(description: "\(script) ended before it was ready")
            }
            if first == UInt8(ascii: "\n") { break }
            line.append(first)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("ready "), let port = Int(text.dropFirst("ready ".count)) else {
            throw Failed(description: "\(script) said \(text)")
        }
        self.port = port
    }

    var address: String { "127.0.0.1:\(port)" }

    /// The process is still running (a service that exits by itself, as one test's does).
    var isRunning: Bool { process.isRunning }

    /// Ends the service and returns what it printed after "ready" (blocks: run it with
    /// `offThePool`).
    func finish() -> String {
        try? input.close()
        return String(decoding: output.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Ends the service: it exits when its standard input closes. Nothing waits here (this runs
    /// in `defer` on Swift's cooperative pool, which must never block).
    func stop() {
        try? input.close()
    }
}
