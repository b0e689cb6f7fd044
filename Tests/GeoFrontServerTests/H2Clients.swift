import Foundation
import TestSupport

/// The real HTTP/2 clients the HTTP/2 tests drive, as processes: `curl` (with nghttp2), `nghttp`
/// (Debian's `nghttp2-client`) and `Tests/Fixtures/h2probe.py` (Python `h2`'s frame and HPACK
/// layers, for hand-made frame sequences). Every call blocks: run it with `offThePool`.
enum H2Clients {
    struct Curl: Sendable {
        let status: Int
        /// `%{http_version}`: "1.1" or "2".
        let version: String
        let location: String
        let body: String

        /// The echo upstream's JSON body.
        var echo: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        }
    }

    /// What `h2probe.py` saw: the server's GOAWAY code, whether it closed, RST_STREAM codes and
    /// `:status` per stream (stream ids as strings, as JSON has them).
    struct Probe: Decodable, Sendable {
        let goaway: Int?
        let closed: Bool
        let resets: [String: Int]
        let statuses: [String: Int]
    }

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `executable` (looked up on PATH) to its end: exit code and standard output.
    static func run(_ arguments: [String]) throws -> (code: Int32, output: String) {
        let result = try ProcessOutput.run("/usr/bin/env", arguments)
        return (result.status, result.output)
    }

    /// `curl` with `options` (`--http2`, `--http2-prior-knowledge`, `-H`…) for `url`; TLS
    /// certificates are not checked (the tests are about the protocol).
    static func curl(_ url: String, _ options: [String] = []) throws -> Curl {
        let marker = "\n--curl--"
        let (code, output) = try run(
            ["curl", "-sS", "-k", "--max-time", "20"] + options + [
                "-w", "\(marker)%{http_code} %{http_version} %{redirect_url}", url,
            ])
        guard code == 0, let range = output.range(of: marker, options: .backwards) else {
            throw Failed(description: "curl \(options) \(url) exited with \(code)")
        }
        let fields = output[range.upperBound...].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        return Curl(
            status: Int(fields[0]) ?? 0, version: String(fields[1]),
            location: fields.count > 2 ? String(fields[2]) : "",
            body: String(output[..<range.lowerBound]))
    }

    /// A probe that prints progress lines (`h2probe.py drain`), read one at a time while the
    /// test acts between them.
    final class Running: Sendable {
        private let probe: FixtureProcess
        private let scenario: String

        init(_ scenario: String, port: Int, options: [String] = []) throws {
            probe = try FixtureProcess("h2probe.py", [scenario, String(port)] + options)
            self.scenario = scenario
        }

        /// The next line (blocks); nil at the end of the output.
        func readLine() -> String? {
            probe.readLine()
        }

        /// Tells the probe to go on (a line on its standard input).
        func proceed() {
            probe.send("go")
        }

        /// The rest of the output, to the probe's end: its report.
        func finish() throws -> Probe {
            let rest = probe.readToEnd()
            return try report(rest, code: probe.waitForExit(), scenario: scenario)
        }
    }

    /// `h2probe.py scenario`: its final report.
    static func probe(
        _ scenario: String, port: Int, tls: Bool = false, source: String = "127.0.0.1", xff: String? = nil,
        count: Int? = nil, proxyHeader: String? = nil
    ) throws -> Probe {
        var arguments = ["python3", Fixtures.fixture("h2probe.py"), scenario, String(port), "--source", source]
        if tls { arguments.append("--tls") }
        if let xff { arguments += ["--xff", xff] }
        if let count { arguments += ["--count", String(count)] }
        if let proxyHeader { arguments += ["--proxy-header", proxyHeader] }
        let (code, output) = try run(arguments)
        return try report(output, code: code, scenario: scenario)
    }

    /// The `result {…}` line of a probe's output.
    static func report(_ output: String, code: Int32, scenario: String) throws -> Probe {
        guard code == 0, let line = output.split(separator: "\n").last(where: { $0.hasPrefix("result ") }) else {
            throw Failed(description: "h2probe.py \(scenario) exited with \(code): \(output)")
        }
        return try JSONDecoder().decode(Probe.self, from: Data(line.dropFirst("result ".count).utf8))
    }

    /// `nghttp` fetching `url` `count` times over one h2c connection (prior knowledge), with
    /// `headers`: the status of every response.
    static func nghttp(_ url: String, count: Int, headers: [String] = []) throws -> [Int] {
        let (code, output) = try run(
            ["nghttp", "-n", "-s", "-m", String(count)] + headers.flatMap { ["-H", $0] } + [url])
        guard code == 0 else { throw Failed(description: "nghttp exited with \(code): \(output)") }
        // `--stat` lines: " 13     +6.78ms       +104us   6.67ms  302    0 /n".
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 7, fields[1].hasPrefix("+"), fields[2].hasPrefix("+") else { return nil }
            return Int(fields[4])
        }
    }
}
