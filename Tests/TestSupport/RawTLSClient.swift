import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// Sends exactly the bytes a test gives it over TLS (no certificate check) and collects what
/// comes back until the server closes: the TLS counterpart of ``RawHTTPClient/readToClose()``,
/// for framing tests that must hold on the TLS listener too.
public enum RawTLSClient {
    /// Connects to 127.0.0.1:`port`, sends `bytes`, and returns every byte received until the
    /// server closes the connection or `timeoutSeconds` pass (then what arrived so far, and
    /// `closed` false).
    public static func exchange(port: Int, _ bytes: [UInt8], timeoutSeconds: Int64 = 10) throws -> (
        received: [UInt8], closed: Bool
    ) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.applicationProtocols = ["http/1.1"]
        let context = try NIOSSLContext(configuration: configuration)
        let collected = NIOLockedValueBox<[UInt8]>([])
        let done = group.next().makePromise(of: Void.self)
        let channel = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        try NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(Collector(collected: collected, done: done))
                }
            }
            .connect(host: "127.0.0.1", port: port).wait()
        try channel.writeAndFlush(ByteBuffer(bytes: bytes)).wait()
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(timeoutSeconds)) {
            done.fail(ChannelError.connectTimeout(.seconds(timeoutSeconds)))
        }
        let closed = (try? done.futureResult.wait()) != nil
        timeout.cancel()
        try? channel.close().wait()
        return (collected.withLockedValue { $0 }, closed)
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let collected: NIOLockedValueBox<[UInt8]>
        let done: EventLoopPromise<Void>

        init(collected: NIOLockedValueBox<[UInt8]>, done: EventLoopPromise<Void>) {
            self.collected = collected
            self.done = done
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            collected.withLockedValue { $0 += buffer.readableBytesView }
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.succeed(())
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // An unclean TLS shutdown after the server's close still ends the exchange.
            context.close(promise: nil)
        }
    }
}
