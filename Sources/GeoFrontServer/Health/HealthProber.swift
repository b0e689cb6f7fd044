import GeoFrontCore
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs one health probe against one target: a TCP connect, or `GET path` over HTTP/1.1.
///
/// Every probe has a hard deadline (`timeout_ms`) that covers connecting, sending and reading, so
/// a target that accepts the connection and never answers fails with "timeout after N ms" and
/// never delays anything else.
public struct HealthProber: Sendable {
    private let group: any EventLoopGroup

    public init(group: any EventLoopGroup) {
        self.group = group
    }

    public func probe(_ target: HealthTarget, settings: HealthCheckSettings) async -> ProbeResult {
        let loop = group.next()
        let promise = loop.makePromise(of: ProbeResult.self)
        let start = NIODeadline.now()
        let timeout = TimeAmount.milliseconds(Int64(settings.timeoutMilliseconds))
        loop.execute {
            let attempt = NIOLoopBound(ProbeAttempt(promise: promise), eventLoop: loop)
            attempt.value.deadline = loop.scheduleTask(in: timeout) {
                attempt.value.finish(.fail(.timeout(milliseconds: settings.timeoutMilliseconds)))
            }
            let request = ProbeRequest(target: target, settings: settings)
            let bootstrap = ClientBootstrap(group: loop)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    guard settings.kind == .http else { return channel.eventLoop.makeSucceededVoidFuture() }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            ProbeResponseHandler(request: request, start: start) { result in
                                attempt.value.finish(result)
                            })
                    }
                }
            bootstrap.connect(host: target.address.host, port: target.address.port).whenComplete { result in
                switch result {
                case .success(let channel):
                    attempt.value.channel = channel
                    if settings.kind == .tcp {
                        attempt.value.finish(.pass(latencyMilliseconds: milliseconds(since: start)))
                    } else if attempt.value.isFinished {
                        channel.close(promise: nil)
                    }
                case .failure(let error):
                    attempt.value.finish(
                        .fail(ProbeFailure(connectError: error, timeout: settings.timeoutMilliseconds)))
                }
            }
        }
        return (try? await promise.futureResult.get()) ?? .fail(.other("probe cancelled"))
    }
}

/// The state of one probe, on its event loop: the result is reported once, then everything is
/// torn down (deadline cancelled, channel closed).
private final class ProbeAttempt {
    let promise: EventLoopPromise<ProbeResult>
    var deadline: Scheduled<Void>?
    var channel: (any Channel)?
    private(set) var isFinished = false

    init(promise: EventLoopPromise<ProbeResult>) {
        self.promise = promise
    }

    func finish(_ result: ProbeResult) {
        guard !isFinished else { return }
        isFinished = true
        deadline?.cancel()
        channel?.close(promise: nil)
        promise.succeed(result)
    }
}

struct ProbeRequest: Sendable {
    let head: HTTPRequestHead
    let expectStatus: StatusRanges
    let expectBody: String?

    init(target: HealthTarget, settings: HealthCheckSettings) {
        let host = settings.host ?? target.hostHeader ?? target.address.description
        head = HTTPRequestHead(
            version: .http1_1, method: .GET, uri: target.path ?? settings.path,
            headers: [
                "Host": host, "User-Agent": "GeoFront-HealthCheck", "Accept": "*/*", "Connection": "close",
            ])
        expectStatus = settings.expectStatus
        expectBody = settings.expectBody
    }
}

/// Sends the probe request once connected and judges the response.
private final class ProbeResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// Body bytes kept for `expect_body`.
    static let bodyLimit = 64 * 1024

    private let request: ProbeRequest
    private let start: NIODeadline
    private let report: (ProbeResult) -> Void
    private var body: [UInt8] = []
    private var status: Int?
    private var reported = false

    init(request: ProbeRequest, start: NIODeadline, report: @escaping (ProbeResult) -> Void) {
        self.request = request
        self.start = start
        self.report = report
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let code = Int(head.status.code)
            status = code
            if !request.expectStatus.contains(code) {
                finish(.fail(.unexpectedStatus(code)))
            } else if request.expectBody == nil {
                finish(.pass(latencyMilliseconds: milliseconds(since: start)))
            }
        case .body(let buffer):
            if body.count < Self.bodyLimit {
                body.append(contentsOf: buffer.readableBytesView.prefix(Self.bodyLimit - body.count))
            }
        case .end:
            guard let expected = request.expectBody else { return }
            if String(decoding: body, as: UTF8.self).contains(expected) {
                finish(.pass(latencyMilliseconds: milliseconds(since: start)))
            } else {
                finish(.fail(.bodyMismatch(expected: expected)))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.fail(.connectionClosed))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.fail(error is HTTPParserError ? .invalidResponse : .other("\(error)")))
        context.close(promise: nil)
    }

    private func finish(_ result: ProbeResult) {
        guard !reported else { return }
        reported = true
        report(result)
    }
}

private func milliseconds(since start: NIODeadline) -> Double {
    Double((NIODeadline.now() - start).nanoseconds) / 1_000_000
}

extension ProbeFailure {
    init(connectError error: any Error, timeout: Int) {
        if let error = error as? ChannelError, case .connectTimeout = error {
            self = .timeout(milliseconds: timeout)
            return
        }
        var underlying: [any Error] = [error]
        if let connection = error as? NIOConnectionError {
            underlying = connection.connectionErrors.map(\.error)
            if underlying.isEmpty, let dns = connection.dnsAError ?? connection.dnsAAAAError {
                self = .other("cannot resolve \(connection.host): \(dns)")
                return
            }
        }
        for error in underlying {
            if let io = error as? IOError, io.errnoCode == ECONNREFUSED {
                self = .connectionRefused
                return
            }
            if let channel = error as? ChannelError, case .connectTimeout = channel {
                self = .timeout(milliseconds: timeout)
                return
            }
        }
        if let io = underlying.first as? IOError {
            self = .other(String(cString: strerror(io.errnoCode)).lowercased())
        } else {
            self = .other("\(underlying.first ?? error)")
        }
    }
}
