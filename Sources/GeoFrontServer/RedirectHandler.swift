import GeoFrontCore
import GeoIP
import NIOCore
import NIOHTTP1

/// Redirect mode: answers each request head with a redirect to the chosen region.
///
/// client IP (peer, or forwarding headers from a trusted proxy) → GeoIP coordinate → nearest
/// available region → `Location` = region's `redirect_url` + the request's path and query.
/// The body of a request, if any, is read and discarded by the decoder.
final class RedirectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let snapshots: NIOLoopBoundBox<RoutingSnapshot>
    private var peer = IPAddress(v4: 0)

    init(snapshots: NIOLoopBoundBox<RoutingSnapshot>) {
        self.snapshots = snapshots
    }

    func handlerAdded(context: ChannelHandlerContext) {
        peer = IPAddress(context.channel.remoteAddress) ?? IPAddress(v4: 0)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            respond(context: context, to: request)
        case .body:
            break
        case .end:
            break
        }
    }

    private func respond(context: ChannelHandlerContext, to request: HTTPRequestHead) {
        let snapshot = snapshots.value
        let keepAlive = request.isKeepAlive

        guard request.method != .CONNECT,
            let (status, headers) = redirect(request, snapshot: snapshot)
        else {
            writeResponse(
                context: context, status: .badRequest, headers: [:], keepAlive: keepAlive, body: "400 Bad Request\n")
            return
        }
        let body = status == .serviceUnavailable ? "503 Service Unavailable: no region is available\n" : nil
        writeResponse(context: context, status: status, headers: headers, keepAlive: keepAlive, body: body)
    }

    private func redirect(_ request: HTTPRequestHead, snapshot: RoutingSnapshot) -> (HTTPResponseStatus, HTTPHeaders)? {
        var forwardedFor: [String] = []
        var forwarded: [String] = []
        for (name, value) in request.headers {
            if name.utf8.count == 15, name.lowercased() == "x-forwarded-for" {
                forwardedFor.append(value)
            } else if name.utf8.count == 9, name.lowercased() == "forwarded" {
                forwarded.append(value)
            }
        }
        let client = snapshot.clientIPResolver.resolve(peer: peer, xForwardedFor: forwardedFor, forwarded: forwarded)
        let choice = snapshot.choose(for: client.address)
        if snapshot.refuses(choice) {
            var headers = HTTPHeaders()
            headers.add(name: "Retry-After", value: String(snapshot.retryAfterSeconds))
            headers.add(name: "Cache-Control", value: "no-store")
            return (.serviceUnavailable, headers)
        }
        let region = snapshot.regions[choice.regionIndex]
        guard let location = RedirectLocation.build(base: region.redirectBase, target: request.uri) else { return nil }
        var headers = HTTPHeaders()
        headers.reserveCapacity(5)
        headers.add(name: "Location", value: location)
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-GeoFront-Region", value: region.name)
        return (HTTPResponseStatus(statusCode: snapshot.config.redirect.status), headers)
    }

    private func writeResponse(
        context: ChannelHandlerContext, status: HTTPResponseStatus, headers: HTTPHeaders, keepAlive: Bool,
        body: String?
    ) {
        var headers = headers
        headers.add(name: "Content-Length", value: String(body?.utf8.count ?? 0))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if let body {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                loopBound.value.close(promise: nil)
            }
        }
    }
}
