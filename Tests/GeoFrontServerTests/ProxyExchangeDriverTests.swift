import Foundation
import GeoFrontCore
import NIOCore
import NIOEmbedded
import TestSupport
import Testing

@testable import GeoFrontServer

/// The proxy exchange driven on one `EmbeddedEventLoop`: the client connection and the upstream
/// connections are `EmbeddedChannel`s (the upstreams handed to the loop's pool as idle
/// keep-alive connections), bytes are written and read by the test, and time is advanced by it.
@Suite struct ProxyExchangeDriverTests {
    final class Rig {
        let loop = EmbeddedEventLoop()
        let client: EmbeddedChannel
        let upstreams: [EmbeddedChannel]
        let state: LoopState

        init(upstreamCount: Int = 2, maxAttempts: Int = 2) throws {
            let addresses = (0..<upstreamCount).map { "\"127.0.0.1:\(9001 + $0)\"" }.joined(separator: ", ")
            let json = """
                {"listen": "127.0.0.1:0", "admin": null,
                 "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
                 "server": {"request_timeout_ms": 400, "idle_timeout_ms": 5000},
                 "proxy": {"response_timeout_ms": 500, "idle_timeout_ms": 1000, "max_attempts": \(maxAttempts)},
                 "regions": [{"name": "eu", "location": {"latitude": 50.11, "longitude": 8.68}, "mode": "proxy",
                              "upstreams": [\(addresses)]}]}
                """
            let config = try ConfigLoader.parse(Data(json.utf8), baseDirectory: "/")
            let snapshot = try RoutingSnapshot.open(config: config)
            state = LoopState(loop: loop, metrics: GeoFrontMetrics(), accessLog: nil)
            var upstreams: [EmbeddedChannel] = []
            for upstream in snapshot.regions[0].config.upstreams {
                let handler = ByteUpstreamHandler()
                let channel = EmbeddedChannel(handler: handler, loop: loop)
                try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: upstream.address.port)).wait()
                state.bytePool.release(
                    UpstreamConnection(upstream: upstream, channel: channel, handler: handler), reusable: true,
                    settings: config.proxy)
                upstreams.append(channel)
            }
            self.upstreams = upstreams
            client = EmbeddedChannel(
                handler: HTTP1FrontEnd(
                    snapshots: NIOLoopBoundBox(snapshot, eventLoop: loop), loop: state, health: nil,
                    settings: config.server, secure: false, httpsPort: nil),
                loop: loop)
            try client.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 40000)).wait()
        }

        /// The client sends `text`, and the loop finishes its turn (upstream requests are
        /// flushed at its end, ``LoopState/flushAtTurnEnd(_:)``).
        func send(_ text: String) throws {
            try client.writeInbound(ByteBuffer(string: text))
            client.pipeline.fireChannelReadComplete()
            loop.run()
        }

        func respond(_ upstream: Int, _ text: String) throws {
            try upstreams[upstream].writeInbound(ByteBuffer(string: text))
            upstreams[upstream].pipeline.fireChannelReadComplete()
            loop.run()
        }

        /// What the client has been sent so far.
        func clientGot() throws -> String { try Self.drain(client) }

        /// What upstream `index` has been sent so far.
        func upstreamGot(_ index: Int) throws -> String { try Self.drain(upstreams[index]) }

        /// The upstream that has been sent something, and what.
        func sentUpstream() throws -> (index: Int, text: String)? {
            for index in upstreams.indices {
                let text = try upstreamGot(index)
                if !text.isEmpty { return (index, text) }
            }
            return nil
        }

        func advance(_ milliseconds: Int64) { loop.advanceTime(by: .milliseconds(milliseconds)) }

        static func drain(_ channel: EmbeddedChannel) throws -> String {
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            return text
        }
    }

    @Test func requestGoesUpAndResponseComesBackOnAReusedConnection() throws {
        let rig = try Rig()
        try rig.send("GET /x?q=1 HTTP/1.1\r\nHost: shop.example\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\r\n")
        let (index, head) = try #require(try rig.sentUpstream())
        #expect(
            head
                == "GET /x?q=1 HTTP/1.1\r\nX-Forwarded-For: 192.0.2.7\r\n"
                + "Forwarded: for=192.0.2.7;host=shop.example;proto=http\r\nX-Forwarded-Proto: http\r\n"
                + "X-Forwarded-Host: shop.example\r\nVia: 1.1 geofront\r\nHost: shop.example\r\n\r\n")
        try rig.respond(index, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: origin\r\n\r\nok")
        #expect(try rig.clientGot() == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-GeoFront-Region: eu\r\n\r\nok")
        // Back in the pool: the next request takes an idle connection again, and it is answered too.
        try rig.send("GET /y HTTP/1.1\r\nHost: shop.example\r\n\r\n")
        let (next, second) = try #require(try rig.sentUpstream())
        #expect(second.hasPrefix("GET /y HTTP/1.1\r\n"))
        try rig.respond(next, "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(try rig.clientGot().hasPrefix("HTTP/1.1 204 No Content\r\n"))
        #expect(rig.upstreams.allSatisfy { $0.isActive })
    }

    @Test func aSilentUpstreamIsRetriedThen504() throws {
        let rig = try Rig()
        try rig.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        let first = try #require(try rig.sentUpstream())
        rig.advance(499)
        #expect(try rig.sentUpstream() == nil)
        rig.advance(1)
        // response_timeout_ms: the first connection is dropped and the request goes to the other.
        #expect(!rig.upstreams[first.index].isActive)
        let second = try #require(try rig.sentUpstream())
        #expect(second.index != first.index && second.text == first.text)
        rig.advance(500)
        let answer = try rig.clientGot()
        #expect(answer.hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n"), "\(answer)")
        #expect(!answer.contains("Connection: close"))
        #expect(rig.client.isActive)
    }

    @Test func aPostThatReachedAnUpstreamIsNotSentAgain() throws {
        let rig = try Rig()
        try rig.send("POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi")
        let first = try #require(try rig.sentUpstream())
        #expect(first.text.hasSuffix("\r\n\r\nhi"))
        try rig.upstreams[first.index].close().wait()
        #expect(try rig.clientGot().hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
        #expect(try rig.sentUpstream() == nil)
    }

    @Test func aChunkedBodyStreamsUpAsItCameAndAStalledOneIsCut() throws {
        let rig = try Rig()
        try rig.send("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        let first = try #require(try rig.sentUpstream())
        #expect(first.text.contains("\r\nTransfer-Encoding: chunked\r\n"))
        #expect(first.text.hasSuffix("\r\n\r\n3\r\nabc\r\n"))
        try rig.send("2\r\nde\r\n")
        #expect(try rig.upstreamGot(first.index) == "2\r\nde\r\n")
        // request_timeout_ms is the longest pause inside the body.
        rig.advance(400)
        #expect(!rig.client.isActive)
        #expect(!rig.upstreams[first.index].isActive)
    }

    @Test func anHTTP10ClientGetsTheBodyWithoutChunksAndAClose() throws {
        let rig = try Rig()
        try rig.send("GET /old HTTP/1.0\r\n\r\n")
        let first = try #require(try rig.sentUpstream())
        #expect(first.text.hasPrefix("GET /old HTTP/1.1\r\n"))
        // No Host from the client: the upstream's address.
        #expect(first.text.hasSuffix("Via: 1.1 geofront\r\nHost: 127.0.0.1:\(9001 + first.index)\r\n\r\n"))
        try rig.respond(
            first.index, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        let answer = try rig.clientGot()
        #expect(answer == "HTTP/1.1 200 OK\r\nX-GeoFront-Region: eu\r\nConnection: close\r\n\r\nabcde")
        #expect(!rig.client.isActive)
        // The upstream's response was whole: its connection goes back to the pool.
        #expect(rig.upstreams[first.index].isActive)
    }

    @Test func a101JoinsTheConnectionsIntoATunnel() throws {
        let rig = try Rig()
        try rig.send("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        let first = try #require(try rig.sentUpstream())
        #expect(first.text.contains("\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"))
        try rig.respond(
            first.index, "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nhello")
        rig.loop.run()
        #expect(
            try rig.clientGot()
                == "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                + "X-GeoFront-Region: eu\r\n\r\nhello")
        try rig.send("ping")
        #expect(try rig.upstreamGot(first.index) == "ping")
        try rig.respond(first.index, "pong")
        #expect(try rig.clientGot() == "pong")
        #expect((try? rig.client.pipeline.syncOperations.handler(type: TunnelHandler.self)) != nil)
    }

    @Test func aStalledResponseBodyCutsTheClient() throws {
        let rig = try Rig()
        try rig.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
        let first = try #require(try rig.sentUpstream())
        try rig.respond(first.index, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        #expect(try rig.clientGot().hasSuffix("\r\n\r\nabc"))
        rig.advance(999)
        #expect(rig.client.isActive)
        try rig.respond(first.index, "de")
        rig.advance(999)
        #expect(rig.client.isActive)
        rig.advance(1)
        // The proxy's idle_timeout_ms without a byte: the response cannot be finished.
        #expect(!rig.client.isActive)
        #expect(!rig.upstreams[first.index].isActive)
    }

    @Test func aGracefulShutdownEndsTheConnectionAfterTheResponseUnderWay() throws {
        let rig = try Rig()
        try rig.send("GET /last HTTP/1.1\r\nHost: h\r\n\r\n")
        let first = try #require(try rig.sentUpstream())
        rig.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(rig.client.isActive)
        try rig.respond(first.index, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(
            try rig.clientGot()
                == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-GeoFront-Region: eu\r\nConnection: close\r\n\r\nok")
        #expect(!rig.client.isActive)
        // The upstream's side was whole: its connection stays pooled.
        #expect(rig.upstreams[first.index].isActive)
    }
}
