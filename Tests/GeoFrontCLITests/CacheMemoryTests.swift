import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// 200,000 distinct 16 KiB objects through a `memory_mb: 64` cache, with the geofront process's
/// resident memory sampled all along: every one is a miss that is stored, so the cache must evict
/// to stay in its bound, and the process must stay under 64 MiB + its idle RSS + 32 MiB.
@Suite(.serialized, .timeLimit(.minutes(8))) struct CacheMemoryTests {
    static let objects = 200_000
    static let objectBytes = 16 * 1024
    static let threads = 8
    static let cacheBytes = 64 * 1024 * 1024
    static let slack = 32 * 1024 * 1024

    /// What the load threads saw.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var ok = 0
        private(set) var failures = 0
        private(set) var reconnects = 0
        private(set) var firstFailure: String?

        func add(ok: Int, failures: Int, reconnects: Int, firstFailure: String?) {
            lock.withLock {
                self.ok += ok
                self.failures += failures
                self.reconnects += reconnects
                if self.firstFailure == nil { self.firstFailure = firstFailure }
            }
        }

        var snapshot: (ok: Int, failures: Int, reconnects: Int, firstFailure: String?) {
            lock.withLock { (ok, failures, reconnects, firstFailure) }
        }
    }

    @Test func distinctObjectsStayWithinTheCacheBound() async throws {
        let origin = try FixedResponseOrigin(
            headers: [("Content-Type", "application/octet-stream"), ("Cache-Control", "public, max-age=3600")],
            body: [UInt8](repeating: 0x63, count: Self.objectBytes))
        defer { origin.shutdown() }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = try folder.write(
            "regions.json",
            """
            {"listen": "127.0.0.1:0", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "mode": "proxy", "server": {"threads": 1}, "admin": {"listen": "127.0.0.1:0"},
             "cache": {"memory_mb": 64, "max_object_kb": 64},
             "regions": [{"name": "only", "location": {"latitude": 0, "longitude": 0}, "upstreams": ["\(origin.address)"]}]}
            """)
        let serve = try ServeProcess(configPath: config, admin: true)
        defer { serve.stop() }
        let pid = serve.process.processIdentifier

        // Warm-up, outside the measured set of paths.
        let warm = try serve.connect(timeoutSeconds: 30).exchange("GET /warm HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(warm.status == 200)
        #expect(warm.body.count == Self.objectBytes)
        let idle = ProxyMemoryTests.residentBytes(of: pid)

        // Load: each thread its own keep-alive connection, each request a distinct URL.
        let sampler = ProxyMemoryTests.Sampler(pid: pid)
        let started = Date()
        let tally = Tally()
        let done = DispatchGroup()
        let perThread = Self.objects / Self.threads
        for thread in 0..<Self.threads {
            done.enter()
            let port = serve.port
            Thread.detachNewThread {
                defer { done.leave() }
                let client = ReconnectingHTTPClient(port: port, timeoutSeconds: 30)
                var ok = 0
                var failures = 0
                var firstFailure: String?
                for index in 0..<perThread {
                    let n = thread * perThread + index
                    do {
                        let response = try client.exchange("GET /o/\(n) HTTP/1.1\r\nHost: h\r\n\r\n")
                        if response.status == 200, response.body.count == Self.objectBytes {
                            ok += 1
                        } else {
                            failures += 1
                            if firstFailure == nil {
                                firstFailure = "/o/\(n): \(response.status), \(response.body.count) bytes"
                            }
                        }
                    } catch {
                        failures += 1
                        if firstFailure == nil { firstFailure = "/o/\(n): \(error)" }
                    }
                }
                tally.add(ok: ok, failures: failures, reconnects: client.reconnects, firstFailure: firstFailure)
            }
        }
        // Waited for on a thread of its own: the load takes minutes on a busy machine, and a test
        // that blocks one of swift-testing's few pool threads that long stalls every other test.
        try await offThePool { done.wait() }
        let peak = sampler.stop()
        let seconds = Date().timeIntervalSince(started)
        let final = ProxyMemoryTests.residentBytes(of: pid)
        let result = tally.snapshot

        let answer = try RawHTTPClient(port: serve.adminPort).exchange("GET /cache HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(answer.status == 200)
        let cache = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any] ?? [:]
        let bytes = cache["bytes"] as? Int ?? -1
        let memoryBytes = cache["memory_bytes"] as? Int ?? -1
        let evictions = cache["evictions"] as? Int ?? -1

        let bound = Self.cacheBytes + idle + Self.slack
        func mib(_ value: Int) -> String { String(format: "%.1f", Double(value) / 1_048_576) }
        print(
            "cache memory: \(result.ok) ok, \(result.failures) failed, \(result.reconnects) reconnects, "
                + "\(origin.requests) origin requests in \(String(format: "%.1f", seconds)) s; "
                + "RSS idle \(mib(idle)) MiB, peak \(mib(peak)) MiB, final \(mib(final)) MiB, bound \(mib(bound)) MiB; "
                + "/cache \(String(decoding: answer.body, as: UTF8.self))")
        #expect(result.ok == Self.objects)
        #expect(result.failures == 0, "first failure: \(result.firstFailure ?? "none")")
        #expect(memoryBytes == Self.cacheBytes)
        #expect(bytes >= 0 && bytes <= memoryBytes)
        #expect(evictions > 0)
        #expect(idle > 0 && peak > 0)
        #expect(
            peak < bound,
            "peak RSS \(mib(peak)) MiB exceeds 64 MiB + idle \(mib(idle)) MiB + 32 MiB by \(mib(peak - bound)) MiB")
    }
}
