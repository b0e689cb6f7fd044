import Foundation
import GeoFrontCore
import NIOCore
import NIOEmbedded
import TestSupport
import Testing

@testable import GeoFrontServer

/// The front end's deadlines with driven time: a head must arrive whole within
/// `request_timeout_ms` of its first byte (408 after, however the bytes trickle in), and a
/// keep-alive connection with nothing in progress closes after `idle_timeout_ms`, quietly.
@Suite struct FrontEndTimeoutTests {
    /// A connection on an `EmbeddedEventLoop`, served by the front end alone.
    struct Connection {
        let loop: EmbeddedEventLoop
        let channel: EmbeddedChannel

        init(requestTimeoutMs: Int = 400, idleTimeoutMs: Int = 1000) throws {
            let json = """
                {"listen": "127.0.0.1:0", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
                 "server": {"request_timeout_ms": \(requestTimeoutMs), "idle_timeout_ms": \(idleTimeoutMs)},
                 "regions": [{"name": "eu", "location": {"latitude": 50.11, "longitude": 8.68},
                              "redirect_url": "https://eu.example.test"}]}
                """
            let config = try ConfigLoader.parse(Data(json.utf8), baseDirectory: "/")
            let snapshot = try RoutingSnapshot.open(config: config)
            loop = EmbeddedEventLoop()
            let state = LoopState(loop: loop, metrics: GeoFrontMetrics(), accessLog: nil)
            channel = EmbeddedChannel(
                handler: HTTP1FrontEnd(
                    snapshots: NIOLoopBoundBox(snapshot, eventLoop: loop), loop: state, health: nil,
                    settings: config.server, secure: false, httpsPort: nil),
                loop: loop)
            try channel.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 40000)).wait()
        }

        func send(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
            channel.pipeline.fireChannelReadComplete()
        }

        /// Everything written to the client so far.
        func written() throws -> String {
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                text += String(buffer: buffer)
            }
            return text
        }

        func advance(_ milliseconds: Int64) { loop.advanceTime(by: .milliseconds(milliseconds)) }
    }

    @Test func slowHeadGets408AtItsDeadline() throws {
        let connection = try Connection(requestTimeoutMs: 400)
        try connection.send("GET /slow HTTP/1.1\r\n")
        // Header lines trickling in do not move the deadline, which runs from the first byte.
        for index in 0..<3 {
            connection.advance(100)
            try connection.send("X-Drip-\(index): x\r\n")
        }
        connection.advance(99)  // 399 ms
        #expect(try connection.written() == "")
        #expect(connection.channel.isActive)
        connection.advance(1)  // 400 ms
        let answer = try connection.written()
        #expect(answer.hasPrefix("HTTP/1.1 408 "), "\(answer)")
        #expect(answer.contains("Connection: close\r\n"))
        #expect(!connection.channel.isActive)
    }

    @Test func idleConnectionClosesQuietlyAndRequestsRearmIt() throws {
        let connection = try Connection(idleTimeoutMs: 1000)
        connection.advance(900)
        try connection.send("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try connection.written().hasPrefix("HTTP/1.1 302 "))
        connection.advance(999)  // 999 ms after the answer: still open
        #expect(connection.channel.isActive)
        connection.advance(1)
        #expect(!connection.channel.isActive)
        #expect(try connection.written() == "")  // closed quietly, no 408
    }

    /// A silent connection (never a byte) goes at the idle timeout, not the request timeout.
    @Test func silentConnectionClosesAtTheIdleTimeout() throws {
        let connection = try Connection(requestTimeoutMs: 100, idleTimeoutMs: 1000)
        connection.advance(999)
        #expect(connection.channel.isActive)
        connection.advance(1)
        #expect(!connection.channel.isActive)
        #expect(try connection.written() == "")
    }

    @Test func malformedRequestGets400AndTheConnectionCloses() throws {
        let connection = try Connection()
        try connection.send("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n")
        let written = try connection.written()
        #expect(written.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(written)")
        #expect(written.contains("Connection: close\r\n"))
        #expect(!connection.channel.isActive)
    }

    /// Graceful shutdown with half a request read: that request is still answered (with
    /// `Connection: close`), then the connection ends; an idle one closes at once.
    @Test func quiescingFinishesTheRequestUnderWay() throws {
        let connection = try Connection()
        try connection.send("GET /p HTTP/1.1\r\nHo")
        connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(connection.channel.isActive)
        try connection.send("st: a\r\n\r\n")
        let written = try connection.written()
        #expect(written.hasPrefix("HTTP/1.1 302 Found\r\n"), "\(written)")
        #expect(written.contains("Connection: close\r\n"))
        #expect(!connection.channel.isActive)

        let idle = try Connection()
        idle.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!idle.channel.isActive)
        #expect(try idle.written().isEmpty)
    }
}
