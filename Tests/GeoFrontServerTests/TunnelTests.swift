import Foundation
import NIOCore
import NIOEmbedded
import NIOPosix
import TestSupport
import Testing

@testable import GeoFrontServer

/// The byte tunnel behind a `101`: bytes both ways, an idle timeout over both directions (driven
/// time), and half-close passed on (over loopback, through the proxy).
@Suite struct TunnelTests {
    @Test func idleTunnelClosesBothSidesAfterTheTimeout() throws {
        let loop = EmbeddedEventLoop()
        let client = EmbeddedChannel(loop: loop)
        let upstream = EmbeddedChannel(loop: loop)
        let (clientEnd, upstreamEnd) = TunnelHandler.pair(idleTimeout: .seconds(10))
        try client.pipeline.syncOperations.addHandler(clientEnd)
        try upstream.pipeline.syncOperations.addHandler(upstreamEnd)
        try client.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 1)).wait()
        try upstream.connect(to: SocketAddress(ipAddress: "192.0.2.2", port: 2)).wait()

        func relay(_ text: String, from: EmbeddedChannel, to: EmbeddedChannel) throws -> String? {
            try from.writeInbound(ByteBuffer(string: text))
            from.pipeline.fireChannelReadComplete()
            return try to.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) }
        }
        #expect(try relay("ping", from: client, to: upstream) == "ping")
        loop.advanceTime(by: .seconds(9))
        #expect(try relay("pong", from: upstream, to: client) == "pong")  // activity either way counts
        loop.advanceTime(by: .seconds(9))
        #expect(client.isActive && upstream.isActive)  // 9 s since the last byte
        loop.advanceTime(by: .seconds(1))
        #expect(!client.isActive)
        #expect(!upstream.isActive)
    }

    /// A client that ends its output (FIN) after an upgrade still gets what the origin sends
    /// afterwards: the origin sees the half-close, answers, and closes; then the client is closed.
    @Test func halfCloseIsPassedThroughTheTunnel() async throws {
        let origin = try HalfCloseOrigin()
        defer { origin.shutdown() }
        let rig = try await ProxyRig(
            upstreams: ["eu-central": [("b1", .echo)]],
            regionExtras: ["eu-west": ["mode": "proxy", "upstreams": [origin.address]]])
        let client = try rig.client()
        let handshake = try client.exchange(
            "GET /raw HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(ProxyRig.london)\r\nUpgrade: raw\r\n"
                + "Connection: Upgrade\r\n\r\n")
        #expect(handshake.status == 101)
        client.send("hello")
        #expect(try client.readBytes(5) == Array("hello".utf8))
        client.halfClose()
        #expect(try client.readToClose() == Array("bye after your FIN".utf8))
        try await rig.stop()
    }
}

/// An origin that upgrades every request to a raw echo, and on its client's half-close says
/// goodbye and closes.
final class HalfCloseOrigin: Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let channel: any Channel
    var address: String { "127.0.0.1:\(channel.localAddress!.port!)" }

    init() throws {
        channel = try ServerBootstrap(group: group)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        var upgraded = false
        var head = ""

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            if upgraded {
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
                return
            }
            head += String(buffer: buffer)
            guard head.contains("\r\n\r\n") else { return }
            upgraded = true
            context.writeAndFlush(
                wrapOutboundOut(
                    ByteBuffer(
                        string: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n")),
                promise: nil)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            guard case ChannelEvent.inputClosed = event else { return }
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "bye after your FIN"))).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }
}
