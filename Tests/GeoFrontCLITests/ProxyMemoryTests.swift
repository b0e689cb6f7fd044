import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// 256 MiB through the proxy in each direction, with the geofront process's resident memory
/// sampled all along: it must grow by less than 64 MiB (bodies are streamed, never buffered).
@Suite(.serialized, .timeLimit(.minutes(6))) struct ProxyMemoryTests {
    static let size = 256 * 1024 * 1024
    static let bound = 64 * 1024 * 1024

    static func residentBytes(of pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return kilobytes * 1024
    }

    /// Samples a process's RSS every 10 ms until stopped; keeps the peak.
    final class Sampler: @unchecked Sendable {
        private let lock = NSLock()
        private var peak = 0
        private var running = true
        let pid: Int32

        init(pid: Int32) {
            self.pid = pid
            Thread.detachNewThread { [self] in
                while lock.withLock({ running }) {
                    let now = ProxyMemoryTests.residentBytes(of: pid)
                    lock.withLock { peak = max(peak, now) }
                    usleep(10_000)
                }
            }
        }

        func stop() -> Int {
            lock.withLock {
                running = false
                return peak
            }
        }
    }

    @Test func largeUploadAndDownloadStreamWithBoundedMemory() async throws {
        let upstream = try TestUpstream(name: "big")
        defer { upstream.shutdown() }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = try folder.write(
            "regions.json",
            """
            {"listen": "127.0.0.1:0", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "mode": "proxy", "server": {"threads": 1, "request_timeout_ms": 60000}, "admin": {"listen": "127.0.0.1:0"},
             "proxy": {"response_timeout_ms": 120000},
             "regions": [{"name": "only", "location": {"latitude": 0, "longitude": 0}, "upstreams": ["\(upstream.address)"]}]}
            """)
        let serve = try ServeProcess(configPath: config)
        defer { serve.stop() }
        let pid = serve.process.processIdentifier
        let port = serve.port
        // 512 MiB through the proxy, on a thread of its own: a test that blocks one of
        // swift-testing's few pool threads for long stalls every other test.
        let run = try await offThePool {
            let connection = try RawHTTPClient(port: port, timeoutSeconds: 30)
            let warm = try connection.exchange("GET /warm HTTP/1.1\r\nHost: h\r\n\r\n").status
            let baseline = Self.residentBytes(of: pid)

            // Upload.
            let sampler = Sampler(pid: pid)
            let chunk = [UInt8](repeating: 0x75, count: 1024 * 1024)
            var sentAll = connection.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: \(Self.size)\r\n\r\n")
            for _ in 0..<(Self.size / chunk.count) where !connection.send(chunk) { sentAll = false }
            let uploaded = try connection.readResponse()

            // Download.
            upstream.behaviour = .download(bytes: Self.size)
            if !connection.send("GET /download HTTP/1.1\r\nHost: h\r\n\r\n") { sentAll = false }
            let downloaded = try connection.readResponseCountingBody()
            return (
                warm: warm, baseline: baseline, peak: sampler.stop(), sentAll: sentAll, uploaded: uploaded.status,
                uploadedBytes: uploaded.echo?["body_bytes"] as? Int, downloaded: downloaded
            )
        }
        #expect(run.warm == 200)
        #expect(run.sentAll)
        #expect(run.uploaded == 200)
        #expect(run.uploadedBytes == Self.size)
        #expect(run.downloaded.status == 200)
        #expect(run.downloaded.bodyBytes == Self.size)
        let (baseline, peak) = (run.baseline, run.peak)

        let growth = peak - baseline
        print(
            "proxy memory: baseline RSS \(baseline / 1_048_576) MiB, peak \(peak / 1_048_576) MiB, growth \(growth / 1_048_576) MiB over 256 MiB up + 256 MiB down"
        )
        #expect(growth < Self.bound)
    }
}

extension RawHTTPResponse {
    var echo: [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
    }
}

/// `geofront serve` as a process: SIGHUP reloads, SIGTERM drains and exits 0.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ServeProcessTests {
    @Test func sighupReloadsAndSigtermExitsCleanly() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        func config(_ url: String) -> String {
            """
            {"listen": "127.0.0.1:0", "admin": {"listen": "127.0.0.1:0"},
             "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"}, "server": {"threads": 1},
             "regions": [{"name": "only", "location": {"latitude": 0, "longitude": 0}, "redirect_url": "\(url)"}]}
            """
        }
        let path = try folder.write("regions.json", config("https://one.example.test"))
        let serve = try ServeProcess(configPath: path, admin: true)
        defer { serve.stop() }
        let process = serve.process
        let connection = try serve.connect()
        #expect(
            try connection.exchange("GET /a HTTP/1.1\r\nHost: h\r\n\r\n").header("location")
                == "https://one.example.test/a")

        try config("https://two.example.test").write(toFile: path, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        var location: String?
        try waitUntilBlocking("the reload after SIGHUP", interval: .milliseconds(50)) {
            location = try connection.exchange("GET /a HTTP/1.1\r\nHost: h\r\n\r\n").header("location")
            return location == "https://two.example.test/a"
        }
        #expect(location == "https://two.example.test/a")  // same keep-alive connection, new routing
        let status = try RawHTTPClient(port: serve.adminPort).exchange("GET /status HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(String(decoding: status.body, as: UTF8.self).contains("\"generation\":2"))

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(connection.waitForClose())  // the idle keep-alive connection was closed cleanly
        let log = serve.log
        #expect(!log.contains("Fatal error"), "\(log)")
        #expect(!log.contains("Cannot schedule"), "\(log)")
    }
}
