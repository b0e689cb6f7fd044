import GeoFrontCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs one health probe against one target: a TCP connect, or `GET path` over HTTP/1.1 (over
/// HTTP/2 for an upstream that speaks it: ALPN `h2`, or h2c with prior knowledge).
///
/// A TLS target (`https://`) is probed over TLS, made and verified as the proxy makes and verifies
/// its upstream connections (``UpstreamTLS``, `proxy.upstream_tls`, the target's server name): an
/// HTTP check sends its request once the handshake is done, and a TCP check passes only when the
/// handshake completes, not on the TCP connect alone. A handshake or certificate failure fails the
/// probe with a reason starting `tls:` (e.g. "tls: certificate verify failed: …").
///
/// Every probe has a hard deadline (`timeout_ms`) that covers connecting, the TLS handshake,
/// sending and reading, so a target that accepts the connection and never answers fails with
/// "timeout after N ms" and never delays anything else.
public struct HealthProber: Sendable {
    private let group: any EventLoopGroup
    private let contexts = TLSContextCache()
    /// The `User-Agent` of HTTP checks: `GeoFront-HealthCheck`, or in fleet mode
    /// `GeoFront-HealthCheck/INSTANCE-ID`, so a target's logs show which instance checked it.
    public let userAgent: String

    public init(group: any EventLoopGroup, instanceID: String? = nil) {
        self.group = group
        userAgent = "GeoFront-HealthCheck" + (instanceID.map { "/\($0)" } ?? "")
    }

    /// Probes `target`; a TLS target is verified per `upstreamTLS` (the configuration's
    /// `proxy.upstream_tls`).
    public func probe(
        _ target: HealthTarget, settings: HealthCheckSettings, upstreamTLS: UpstreamTLSSettings = UpstreamTLSSettings()
    ) async -> ProbeResult {
        var tlsContext: NIOSSLContext?
        if target.tls {
            do {
                tlsContext = try contexts.context(for: upstreamTLS, alpn: target.http2 ? "h2" : "http/1.1")
            } catch {
                return .fail(.other("tls: \(error)"))
            }
        }
        let loop = group.next()
        let promise = loop.makePromise(of: ProbeResult.self)
        let start = NIODeadline.now()
        let timeout = TimeAmount.milliseconds(Int64(settings.timeoutMilliseconds))
        loop.execute { [tlsContext] in
            let attempt = NIOLoopBound(ProbeAttempt(promise: promise), eventLoop: loop)
            attempt.value.deadline = loop.scheduleTask(in: timeout) {
                attempt.value.finish(.fail(.timeout(milliseconds: settings.timeoutMilliseconds)))
            }
            let request = ProbeRequest(target: target, settings: settings, userAgent: userAgent)
            let bootstrap = ClientBootstrap(group: loop)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        if let tlsContext {
                            try pipeline.addHandler(
                                try UpstreamTLS.clientHandler(
                                    context: tlsContext, host: target.address.host, serverName: target.serverName))
                            try pipeline.addHandler(
                                ProbeTLSHandler(
                                    verifiedName: UpstreamTLS.verifiedName(
                                        host: target.address.host, serverName: target.serverName),
                                    passOnHandshake: settings.kind == .tcp, start: start
                                ) { result in
                                    attempt.value.finish(result)
                                })
                        }
                        guard settings.kind == .http else { return }
                        let prober = ProbeResponseHandler(request: request, start: start) { result in
                            attempt.value.finish(result)
                        }
                        guard target.http2 else {
                            try pipeline.addHTTPClientHandlers()
                            try pipeline.addHandler(prober)
                            return
                        }
                        // HTTP/2 (ALPN h2, or h2c with prior knowledge): the same request and
                        // judgement on one stream, through NIOHTTP2's HTTP/1 codec.
                        let multiplexer = try pipeline.configureHTTP2Pipeline(
                            mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
                        ) { pushed in pushed.close() }
                        let scheme: HTTP2FramePayloadToHTTP1ClientCodec.HTTPProtocol = target.tls ? .https : .http
                        let boxed = NIOLoopBound(prober, eventLoop: channel.eventLoop)
                        // The stream opens once connected (after the connection preface).
                        attempt.value.openStream = {
                            multiplexer.createStreamChannel(promise: nil) { stream in
                                stream.eventLoop.makeCompletedFuture {
                                    try stream.pipeline.syncOperations.addHandler(
                                        HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: scheme))
                                    try stream.pipeline.syncOperations.addHandler(boxed.value)
                                }
                            }
                        }
                    }
                }
            bootstrap.connect(host: target.address.host, port: target.address.port).whenComplete { result in
                switch result {
                case .success(let channel):
                    attempt.value.channel = channel
                    attempt.value.openStream?()
                    attempt.value.openStream = nil
                    if settings.kind == .tcp && tlsContext == nil {
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

/// The TLS context of the last `proxy.upstream_tls` probed with, built by the function that builds
/// the proxy's. Rebuilt when the settings change or the CA file changes on disk, so a CA file
/// replaced for a reload is trusted by the probes too (they take it up at their next probe, the
/// proxy at the reload).
private final class TLSContextCache: Sendable {
    private struct Key: Equatable {
        let settings: UpstreamTLSSettings
        let alpn: String
        let caFile: WatchedFilesReloader.FileStamp?
    }

    /// The last context per ALPN protocol.
    private let last = NIOLockedValueBox<[String: (key: Key, context: NIOSSLContext)]>([:])

    func context(for settings: UpstreamTLSSettings, alpn: String) throws -> NIOSSLContext {
        let key = Key(
            settings: settings, alpn: alpn, caFile: settings.caFile.flatMap(WatchedFilesReloader.FileStamp.init(path:)))
        if let last = last.withLockedValue({ $0[alpn] }), last.key == key { return last.context }
        let context = try UpstreamTLS.context(settings, alpn: alpn)
        last.withLockedValue { $0[alpn] = (key, context) }
        return context
    }
}

/// The state of one probe, on its event loop: the result is reported once, then everything is
/// torn down (deadline cancelled, channel closed).
private final class ProbeAttempt {
    let promise: EventLoopPromise<ProbeResult>
    var deadline: Scheduled<Void>?
    var channel: (any Channel)?
    /// An HTTP/2 check's request stream, opened once connected.
    var openStream: (() -> Void)?
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

/// Sits behind NIOSSL's client handler on a TLS probe: reports a failed handshake (or any later
/// TLS error) with a `tls:` reason, and for a TCP check the pass once the handshake completes.
private final class ProbeTLSHandler: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let verifiedName: String?
    private let passOnHandshake: Bool
    private let start: NIODeadline
    private let report: (ProbeResult) -> Void
    private var handshakeDone = false

    init(
        verifiedName: String?, passOnHandshake: Bool, start: NIODeadline, report: @escaping (ProbeResult) -> Void
    ) {
        self.verifiedName = verifiedName
        self.passOnHandshake = passOnHandshake
        self.start = start
        self.report = report
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            handshakeDone = true
            if passOnHandshake { report(.pass(latencyMilliseconds: milliseconds(since: start))) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !handshakeDone || ProbeFailure.isTLSError(error) {
            report(.fail(ProbeFailure(tlsError: error, verifiedName: verifiedName)))
            context.close(promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !handshakeDone { report(.fail(.other("tls: handshake failed: connection closed by the target"))) }
        context.fireChannelInactive()
    }
}

struct ProbeRequest: Sendable {
    let head: HTTPRequestHead
    let expectStatus: StatusRanges
    let expectBody: String?

    init(target: HealthTarget, settings: HealthCheckSettings, userAgent: String = "GeoFront-HealthCheck") {
        let host = settings.host ?? target.hostHeader ?? target.address.description
        head = HTTPRequestHead(
            version: .http1_1, method: .GET, uri: target.path ?? settings.path,
            headers: [
                "Host": host, "User-Agent": userAgent, "Accept": "*/*", "Connection": "close",
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

extension ProbeFailure {
    static func isTLSError(_ error: any Error) -> Bool {
        error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError
    }

    /// A TLS failure, named so that a certificate that does not verify reads as such on the status
    /// page and in the logs. `verifiedName` is the name the certificate had to carry.
    init(tlsError error: any Error, verifiedName: String?) {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            self = .other(
                "tls: certificate verify failed: the certificate is not for \(verifiedName ?? "the target's IP address")"
            )
            return
        }
        guard let ssl = error as? NIOSSLError else {
            self = .other("tls: handshake failed: \(error)")
            return
        }
        switch ssl {
        case .handshakeFailed(.sslError(let stack)):
            if stack.contains(.eofDuringHandshake) || stack.contains(.eofDuringAdditionalCertficiateChainValidation) {
                self = .other("tls: handshake failed: connection closed by the target")
                return
            }
            let reasons = stack.map(Self.reasonName)
            if reasons.contains("CERTIFICATE_VERIFY_FAILED") {
                self = .other(
                    "tls: certificate verify failed: untrusted issuer, expired or invalid certificate")
            } else {
                let text = reasons.map { String($0.lowercased().map { $0 == "_" ? " " : $0 }) }
                self = .other("tls: handshake failed: \(text.joined(separator: ", "))")
            }
        case .uncleanShutdown:
            self = .other("tls: connection closed without close_notify")
        default:
            self = .other("tls: \(ssl)")
        }
    }

    /// BoringSSL's reason of one error ("CERTIFICATE_VERIFY_FAILED" from "Error: 268435581
    /// error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at file:line").
    private static func reasonName(_ error: BoringSSLInternalError) -> String {
        var text = Substring(error.description)
        if let at = text.firstRange(of: " at ") { text = text[..<at.lowerBound] }
        return String((text.split(separator: ":").last ?? text).drop { $0 == " " })
    }
}
