import Foundation
import GeoFrontCore
import Metrics
import NIOCore
import NIOEmbedded
import TestSupport
import Testing

@testable import GeoFrontServer

/// `server.send_timeout_ms`: a client that stops reading is disconnected once its connection has
/// stayed full for the timeout, and its reads are held meanwhile.
@Suite struct SendTimeoutTests {
    /// Counts the `read`s that reach the socket end of the pipeline.
    final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    /// Time is driven: nothing happens before the timeout, the close comes at it, and reads wait
    /// while the connection is full.
    @Test func fullConnectionClosesAtTheTimeoutAndHoldsReads() throws {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        let metrics = GeoFrontMetrics()
        let counter = ReadCounter()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(
            SendTimeoutHandler(timeout: .milliseconds(500), counter: metrics.sendTimeouts))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()

        channel.read()
        #expect(counter.reads == 1)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.read()
        #expect(counter.reads == 1)  // held while full
        loop.advanceTime(by: .milliseconds(499))
        #expect(channel.isActive)
        // Writable again: the held read goes on and the timer stops.
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(counter.reads == 2)
        loop.advanceTime(by: .seconds(5))
        #expect(channel.isActive)
        #expect(!metrics.exposition().contains("geofront_send_timeouts_total 1"))

        // Full again, for the whole timeout this time.
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        loop.advanceTime(by: .milliseconds(499))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
        #expect(metrics.exposition().contains("geofront_send_timeouts_total 1"))
    }

    /// A proxied download to a client that reads nothing: the connection is closed after the
    /// send timeout, and the client gets less than the whole body.
    @Test func proxiedDownloadToAStalledClientIsCut() async throws {
        let size = 256 * 1024 * 1024
        let rig = try await ProxyRig(
            upstreams: ["eu-west": [("big", .download(bytes: size))]], server: ["send_timeout_ms": 300])
        let client = try RawHTTPClient(port: rig.port, source: "127.0.0.2", receiveBufferBytes: 4096)
        #expect(client.send("GET /big HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\n\r\n"))
        try await waitUntil("the send timeout to fire") {
            rig.server.metrics.exposition().contains("geofront_send_timeouts_total 1")
        }
        let (status, received) = try client.readResponseCountingBody()
        #expect(status == 200)
        #expect(received < size)
        try await rig.stop()
    }

    /// A client that pipelines redirects without reading the answers: reads are held once its
    /// connection is full (the answers do not pile up), and it is disconnected after the timeout.
    @Test func pipeliningClientThatNeverReadsIsDisconnected() async throws {
        // No request limit: the connection must end by the send timeout, not by
        // `max_requests_per_connection`.
        try await withServer(server: ["send_timeout_ms": 300, "max_requests_per_connection": 0]) { server in
            let client = NSLockedBox(
                try RawHTTPClient(port: server.port, source: "127.0.0.2", receiveBufferBytes: 4096))
            let batch = String(
                repeating: "GET /p HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 89.160.20.112\r\n\r\n", count: 1000)
            let sender = Thread {
                // Until the server stops reading (send fails after the socket's own timeout)
                // or a bound is reached.
                let connection = client.get()
                for _ in 0..<1000 where connection.send(batch) {}
            }
            sender.start()
            try await waitUntil("the send timeout to fire") {
                server.server.metrics.exposition().contains("geofront_send_timeouts_total 1")
            }
            #expect(try server.isServing())
        }
    }
}
