import Foundation
import Synchronization
import TestSupport
import Testing

/// Request collapsing: concurrent misses for one URL make one upstream request, and the waiting
/// requests get the body as it arrives (not once it is complete).
@Suite struct CacheCollapsingTests {
    static let body = (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 7) }

    /// 200 clients ask for one uncached URL while the origin has sent only the first 16 KiB: every
    /// one of them receives those 16 KiB before the origin sends the rest (they stream, they do not
    /// wait for the whole object), the origin sees one request, and all 200 get the whole body.
    @Test func twoHundredConcurrentMissesMakeOneUpstreamRequestAndStreamAsItArrives() async throws {
        // The origin holds the body until all 200 clients have its start: on a loaded machine
        // that can take longer than the leader's exchange waits for the rest by default (60 s).
        let rig = try await CacheRig(extra: ["proxy": ["response_timeout_ms": 600_000, "idle_timeout_ms": 600_000]])
        rig.origin.set(
            "/big", .init(headers: [("Cache-Control", "max-age=60")], bytes: Self.body, holdAfter: 16_384))
        let firstPartSeen = SeenCount()
        let port = rig.port
        let clients = 200
        try await withThrowingTaskGroup(of: (Int, [UInt8], String).self) { group in
            for _ in 0..<clients {
                group.addTask {
                    try await offThePool {
                        let client = try RawHTTPClient(port: port, timeoutSeconds: 120)
                        _ = client.send("GET /big HTTP/1.1\r\nHost: cache.example\r\n\r\n")
                        let head = try client.readResponse(toHead: true)
                        let first = try client.readBytes(16_384)
                        firstPartSeen.value.add(1, ordering: .relaxed)
                        let rest = try client.readBytes(Self.body.count - 16_384)
                        return (head.status, first + rest, head.header("cache-status") ?? "")
                    }
                }
            }
            try await waitUntil("every client has the first 16 KiB", timeout: .seconds(120)) {
                firstPartSeen.value.load(ordering: .relaxed) == clients
            }
            #expect(rig.origin.count("/big") == 1)
            rig.origin.release()
            var collapsed = 0
            for try await (status, received, cacheStatus) in group {
                #expect(status == 200)
                #expect(received == Self.body)
                if cacheStatus.contains("collapsed") { collapsed += 1 }
            }
            #expect(collapsed == clients - 1)
        }
        #expect(rig.origin.count("/big") == 1)
        #expect(try await rig.get("/big").cacheStatus.contains("hit"))
        try await rig.stop()
    }

    /// A response that turns out not to be storable releases the waiting requests: each goes
    /// upstream itself and gets its own answer.
    @Test func anUncacheableResponseReleasesTheWaitersToGoUpstream() async throws {
        let rig = try await CacheRig()
        rig.origin.set("/private", .init(headers: [("Cache-Control", "private")], body: "mine"))
        rig.origin.hold()
        let port = rig.port
        let clients = 20
        try await withThrowingTaskGroup(of: (Int, String, String).self) { group in
            for _ in 0..<clients {
                group.addTask {
                    try await offThePool {
                        let client = try RawHTTPClient(port: port, timeoutSeconds: 60)
                        let answer = try client.exchange("GET /private HTTP/1.1\r\nHost: cache.example\r\n\r\n")
                        return (answer.status, String(decoding: answer.body, as: UTF8.self), answer.cacheStatus)
                    }
                }
            }
            // The first request reaches the origin; the others wait on it.
            try await waitUntil("the leader's request reached the origin") { rig.origin.count("/private") == 1 }
            try await waitUntil("the others wait on the leader") {
                rig.server.caches.activeFollowers(of: "http://cache.example/private") == clients - 1
            }
            rig.origin.release()
            for try await (status, text, cacheStatus) in group {
                #expect(status == 200)
                #expect(text == "mine")
                #expect(!cacheStatus.contains("collapsed"))
            }
        }
        #expect(rig.origin.count("/private") == clients)
        // Now known not to be storable, the URL's misses are not collapsed any more: ten held
        // requests all reach the origin at once (none waits for another's answer).
        rig.origin.hold()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    try await offThePool {
                        let client = try RawHTTPClient(port: port, timeoutSeconds: 60)
                        return try client.exchange("GET /private HTTP/1.1\r\nHost: cache.example\r\n\r\n").status
                    }
                }
            }
            try await waitUntil("all ten reached the origin") { rig.origin.count("/private") == clients + 10 }
            rig.origin.release()
            for try await status in group { #expect(status == 200) }
        }
        try await rig.stop()
    }
}

/// A count shared with client threads.
final class SeenCount: Sendable {
    let value = Atomic<Int>(0)
}
