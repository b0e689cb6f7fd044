import Glibc
// H2Floor: the floor of CPU per HTTP/2 stream with NIOHTTP2 for a trivial 302 over TLS 1.3.
// usage: H2Floor MODE PORT CERT KEY   (MODE: child | child-novalidate | frames | frames-novalidate)
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL

let responseHeaders: HPACKHeaders = [
    ":status": "302",
    "location": "https://example.test/",
    "content-length": "0",
]

/// (a) One child channel per stream (NIOHTTP2's inline multiplexer); answers the request HEADERS.
final class StreamResponder: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .headers = self.unwrapInboundIn(data) {
            context.writeAndFlush(
                self.wrapOutboundOut(.headers(.init(headers: responseHeaders, endStream: true))), promise: nil)
        }
    }
}

/// (b) No multiplexer: HTTP2Frame values on the connection pipeline; one flush per read batch.
final class FrameResponder: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame
    var pending = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        if case .headers = frame.payload {
            let response = HTTP2Frame(
                streamID: frame.streamID, payload: .headers(.init(headers: responseHeaders, endStream: true)))
            context.write(self.wrapOutboundOut(response), promise: nil)
            self.pending = true
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.pending {
            self.pending = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Closes the connection on an error (the child variant's connection pipeline end).
final class CloseOnError: ChannelInboundHandler {
    typealias InboundIn = Any
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

let args = CommandLine.arguments
guard args.count == 5 else {
    print("usage: H2Floor child|child-novalidate|frames|frames-novalidate PORT CERT KEY")
    exit(2)
}
let mode = args[1]
let port = Int(args[2])!
guard ["child", "child-novalidate", "frames", "frames-novalidate"].contains(mode) else {
    print("unknown mode \(mode)")
    exit(2)
}

var tls = TLSConfiguration.makeServerConfiguration(
    certificateChain: try NIOSSLCertificate.fromPEMFile(args[3]).map { .certificate($0) },
    privateKey: .privateKey(try NIOSSLPrivateKey(file: args[4], format: .pem)))
tls.minimumTLSVersion = .tlsv13
tls.applicationProtocols = ["h2"]
let sslContext = try NIOSSLContext(configuration: tls)

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(NIOSSLServerHandler(context: sslContext))
            switch mode {
            case "child", "child-novalidate":
                var connection = NIOHTTP2Handler.ConnectionConfiguration()
                if mode == "child-novalidate" {
                    connection.headerBlockValidation = .disabled
                    connection.contentLengthValidation = .disabled
                }
                let h2 = NIOHTTP2Handler(
                    mode: .server, eventLoop: channel.eventLoop, connectionConfiguration: connection
                ) { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(StreamResponder())
                    }
                }
                try sync.addHandler(h2)
                try sync.addHandler(CloseOnError())
            case "frames":
                try sync.addHandler(NIOHTTP2Handler(mode: .server))
                try sync.addHandler(FrameResponder())
            default:  // frames-novalidate
                try sync.addHandler(
                    NIOHTTP2Handler(mode: .server, headerBlockValidation: .disabled, contentLengthValidation: .disabled)
                )
                try sync.addHandler(FrameResponder())
            }
        }
    }

let server = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
print("h2floor \(mode) listening on \(server.localAddress!)")
try server.closeFuture.wait()
