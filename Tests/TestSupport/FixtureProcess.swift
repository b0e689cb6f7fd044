import Foundation

/// A Python script among the fixtures, run as a process the test talks to by lines: its standard
/// output read a line at a time (or to its end), its standard input written to or closed. Used by
/// the HTTP/2 probe (`h2probe.py`) and the Python servers (`h2upstream.py`, `grpc_service.py`).
/// Every call but ``closeInput()`` and ``isRunning`` may block: run it off Swift's cooperative
/// pool.
public final class FixtureProcess: Sendable {
    private let process: Process
    private let output: FileHandle
    private let input: FileHandle

    /// Starts `python3 Tests/Fixtures/<script> <arguments…>`; standard error is dropped.
    public init(_ script: String, _ arguments: [String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Fixtures.fixture(script)] + arguments
        let outputPipe = Pipe()
        let inputPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardInput = inputPipe
        process.standardError = FileHandle.nullDevice
        output = outputPipe.fileHandleForReading
        input = inputPipe.fileHandleForWriting
        try process.run()
    }

    /// The next line, without its newline; nil at the end of the output.
    public func readLine() -> String? {
        var line: [UInt8] = []
        while true {
            let byte = output.readData(ofLength: 1)
            guard let first = byte.first else { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if first == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(first)
        }
    }

    /// Writes `line` and a newline to the script's standard input.
    public func send(_ line: String) {
        input.write(Data((line + "\n").utf8))
    }

    /// Closes the script's standard input (the servers exit then). Never blocks.
    public func closeInput() {
        try? input.close()
    }

    /// The rest of the output, to its end.
    public func readToEnd() -> String {
        String(decoding: output.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Waits for the script to exit: its exit status.
    public func waitForExit() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    public var isRunning: Bool { process.isRunning }
}
