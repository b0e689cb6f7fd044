import Foundation
import TestSupport
import Testing

@testable import GeoFrontServer

/// `proxy.max_connections_per_upstream` full: requests wait in order for a connection to come
/// back (or to close, then a new one is made), for at most `connect_timeout_ms`, instead of being
/// answered 502 at once. Many HTTP/2 streams on one client connection are the usual way to get
/// there.
@Suite(.serialized) struct UpstreamPoolQueueTests {
    @Test func requestsWaitForAConnectionWhenThePoolIsFull() async throws {
        let upstream = try TestUpstream(name: "held", .held)
        defer { upstream.shutdown() }
        // The four that wait may wait as long as a busy machine takes to release the upstream: a
        // queue's bound (`connect_timeout_ms`, 1 s by default) is the next test's subject.
        let server = try await ProxyFrontEndTests.start(
            upstream: upstream.address, proxy: ["max_connections_per_upstream": 2, "connect_timeout_ms": 600_000],
            extra: ["server": ["threads": 1, "h2c": true]])
        let url = "http://127.0.0.1:\(server.localAddress!.port!)/q"
        // Six streams at once; two connections' worth reach the upstream, which holds them.
        let statuses = Task { try await offThePool { try H2Clients.nghttp(url, count: 6) } }
        try await waitUntil("two requests at the upstream") { upstream.seen.count == 2 }
        upstream.release()
        #expect(try await statuses.value == Array(repeating: 200, count: 6))
        #expect(upstream.seen.count == 6)
        #expect(upstream.connections == 2, "the pool opened \(upstream.connections) connections")
        try await server.stop()
    }

    @Test func aRequestWaitsAtMostTheConnectTimeout() async throws {
        let upstream = try TestUpstream(name: "hang", .hang)
        defer { upstream.shutdown() }
        let server = try await ProxyFrontEndTests.start(
            upstream: upstream.address,
            proxy: ["max_connections_per_upstream": 1, "connect_timeout_ms": 300, "response_timeout_ms": 2000],
            extra: ["server": ["threads": 1, "h2c": true]])
        let url = "http://127.0.0.1:\(server.localAddress!.port!)/q"
        // One request holds the only connection until its response times out (504); the two
        // behind it give up waiting first (502, pool exhausted).
        let statuses = try await offThePool { try H2Clients.nghttp(url, count: 3) }
        #expect(statuses.sorted() == [502, 502, 504], "\(statuses)")
        #expect(upstream.connections == 1)
        try await server.stop()
    }
}
