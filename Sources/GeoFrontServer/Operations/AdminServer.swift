import Foundation
import GeoFrontCore
import GeoIP
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The admin listener, on its own address (never the public one):
///
/// | request | answer |
/// |---|---|
/// | `GET /metrics` | Prometheus text |
/// | `GET /status` | regions, targets, database, generation (JSON) |
/// | `GET /route?ip=…` (and `host`, `path`, `method`, `header`, `cookie`) | what `geofront route --json` prints |
/// | `POST /regions/{name}/drain`, `/undrain` | runtime drain |
/// | `POST /reload` | reload configuration and database |
/// | `POST /preview` (body: a candidate `regions.json`) | who would move (`geofront diff` JSON); applies nothing |
/// | `GET /routes` | routes with their weights, counts and rollbacks (JSON) |
/// | `PUT /routes/{name}/weights` | set a route's weights at run time (`{"service": weight}`) |
/// | `GET /cache`, `DELETE /cache` | the response cache's size and counts; empty it |
/// | `POST /cache/purge` (body: one of `{"url": …}`, `{"prefix": …}`, `{"tag": …}`) | purge from the cache |
/// | `GET /` | the HTML status page |
///
/// With a token configured, every request needs `Authorization: Bearer <token>` (or, for
/// browsers, `?token=<token>`); anything else gets 401.
public final class AdminServer: Service, Sendable {
    let server: FrontDoorServer
    let checker: HealthChecker?
    let reloader: ConfigReloader?
    let token: String?
    /// Where answers run (the admin's own thread, not Swift's cooperative pool).
    let executor = AdminExecutor()
    private let channel: any Channel
    let logger: Logger

    public var localAddress: SocketAddress? { channel.localAddress }

    public static func start(
        listen: HostPort, token: String?, server: FrontDoorServer, checker: HealthChecker?, reloader: ConfigReloader?,
        logger: Logger
    ) async throws -> AdminServer {
        let admin = AdminBox()
        let channel = try await ServerBootstrap(group: server.eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(admin: admin))
                }
            }
            .bind(host: listen.host, port: listen.port).get()
        let server = AdminServer(
            server: server, checker: checker, reloader: reloader, token: token,
            channel: channel, logger: logger)
        admin.set(server)
        logger.info("admin listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        return server
    }

    private init(
        server: FrontDoorServer, checker: HealthChecker?, reloader: ConfigReloader?, token: String?,
        channel: any Channel, logger: Logger
    ) {
        self.server = server
        self.checker = checker
        self.reloader = reloader
        self.token = token
        self.channel = channel
        self.logger = logger
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            self.channel.close(promise: nil)
        }
    }

    public func stop() async {
        try? await channel.close()
        await executor.shutdown()
    }

    // MARK: - Answers

    struct Answer: Sendable {
        var status: HTTPResponseStatus
        var contentType: String
        var body: String

        static func json(_ body: String, status: HTTPResponseStatus = .ok) -> Answer {
            Answer(status: status, contentType: "application/json", body: body + "\n")
        }

        static func error(_ status: HTTPResponseStatus, _ message: String) -> Answer {
            .json("{\"error\":\(JSONText.string(message))}", status: status)
        }
    }

    func answer(method: HTTPMethod, uri: String, authorization: String?, body: [UInt8] = []) async -> Answer {
        let (path, query) = Self.split(uri)
        if let token {
            let presented =
                authorization.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
                ?? query["token"]
            guard let presented, Self.constantTimeEqual(presented, token) else {
                return .error(.unauthorized, "missing or wrong bearer token")
            }
        }
        let parts = path.split(separator: "/").map(String.init)
        switch (method, parts.first ?? "", parts.count) {
        case (.GET, "", 0):
            return Answer(
                status: .ok, contentType: "text/html; charset=utf-8", body: await statusPage(token: query["token"]))
        case (.GET, "metrics", 1):
            server.metrics.recordRequestsByProtocol(await server.requestsByProtocol())
            return Answer(status: .ok, contentType: "text/plain; version=0.0.4", body: server.metrics.exposition())
        case (.GET, "status", 1):
            return .json(await statusJSON())
        case (.GET, "route", 1):
            return routeAnswer(uri: uri)
        case (.POST, "regions", 3) where parts[2] == "drain" || parts[2] == "undrain":
            let drain = parts[2] == "drain"
            guard server.health.monitor.setDrained(parts[1], drain) else {
                return .error(.notFound, "no region named \(parts[1])")
            }
            republish()
            logger.notice("\(drain ? "drained" : "undrained") at runtime", metadata: ["region": "\(parts[1])"])
            return .json("{\"region\":\(JSONText.string(parts[1])),\"drained\":\(drain)}")
        case (.POST, "reload", 1):
            guard let reloader else { return .error(.notImplemented, "no configuration file to reload") }
            switch await reloader.reload(reason: "POST /reload") {
            case .success(let outcome):
                let warnings = outcome.warnings.map { JSONText.string($0) }.joined(separator: ",")
                return .json("{\"ok\":true,\"generation\":\(outcome.generation),\"warnings\":[\(warnings)]}")
            case .failure(let failure):
                return .json(
                    "{\"ok\":false,\"generation\":\(server.publisher.current.generation),\"error\":\(JSONText.string(failure.description))}",
                    status: .unprocessableEntity)
            }
        case (.POST, "preview", 1):
            return await previewAnswer(uri: uri, body: body)
        case (.GET, "routes", 1):
            return .json(routesJSON())
        case (.PUT, "routes", 3) where parts[2] == "weights":
            return setRouteWeights(route: parts[1], body: body)
        case (_, "cache", 1),
            (_, "cache", 2) where parts[1] == "purge":
            return cacheAnswer(method: method, parts: parts, body: body)
        case (_, "", 0), (_, "metrics", 1), (_, "status", 1), (_, "route", 1), (_, "reload", 1), (_, "regions", 3),
            (_, "routes", 1), (_, "routes", 3), (_, "preview", 1):
            return .error(.methodNotAllowed, "\(method.rawValue) is not allowed here")
        default:
            return .error(.notFound, "no such admin endpoint")
        }
    }

    private func republish() {
        server.publisher.publishStatuses(of: server.health.monitor)
        server.metrics.recordRegionStatuses(server.publisher.current)
    }

    /// `/status`.
    func statusJSON() async -> String {
        let snapshot = server.publisher.current
        let traffic = await server.trafficLastMinute()
        let total = traffic.values.reduce(0, +)
        let byProtocol = await server.requestsByProtocol()
        let drains = server.health.monitor.runtimeDrains
        let regions = zip(snapshot.regions, snapshot.statuses).map { region, status in
            let requests = traffic[region.name, default: 0]
            let upstreams = zip(
                region.config.upstreams,
                status.upstreamAvailable.isEmpty
                    ? Array(repeating: true, count: region.config.upstreams.count) : status.upstreamAvailable
            ).map { upstream, available in
                "{\"address\":\(JSONText.string(upstream.description)),\"available\":\(available)}"
            }
            return JSONText.object([
                ("name", JSONText.string(region.name)),
                ("service", region.config.service.map { JSONText.string($0) } ?? "null"),
                ("latitude", "\(region.config.location.latitude)"),
                ("longitude", "\(region.config.location.longitude)"),
                ("mode", JSONText.string(region.config.mode.rawValue)),
                ("available", "\(status.isAvailable)"),
                ("drained", "\(status.drained)"),
                ("drained_at_runtime", "\(drains.contains(region.name))"),
                ("unavailable_reason", status.unavailableReason.map { JSONText.string($0) } ?? "null"),
                ("health_votes", status.healthVotes.map { JSONText.string($0) } ?? "null"),
                ("requests_last_minute", "\(requests)"),
                ("traffic_share", total == 0 ? "0" : "\(Double(requests) / Double(total))"),
                ("upstreams", "[" + upstreams.joined(separator: ",") + "]"),
            ])
        }
        let targets = server.health.monitor.targetSnapshots().map { target in
            var result = "null"
            var latency = "null"
            var reason = "null"
            switch target.health.lastResult {
            case .pass(let milliseconds):
                result = "\"pass\""
                latency = "\((milliseconds * 1000).rounded() / 1000)"
            case .fail(let failure):
                result = "\"fail\""
                reason = JSONText.string(failure.description)
            case nil:
                break
            }
            return JSONText.object([
                ("region", JSONText.string(target.region)),
                ("target", JSONText.string(target.target.description)),
                ("healthy", "\(target.health.isHealthy)"),
                ("last_probe", target.probedAt.map { JSONText.string(JSONText.isoTime($0)) } ?? "null"),
                ("result", result), ("latency_ms", latency), ("reason", reason),
                ("fleet", target.fleet.map { JSONText.string($0.description) } ?? "null"),
                ("consecutive_failures", "\(target.health.consecutiveFailures)"),
            ])
        }
        let metadata = snapshot.database.metadata
        return JSONText.object([
            ("generation", "\(snapshot.generation)"),
            (
                "database",
                JSONText.object([
                    ("path", JSONText.string(snapshot.database.path)),
                    ("type", JSONText.string(metadata.databaseType)),
                    ("build_date", JSONText.string(metadata.buildDate)),
                    ("ip_version", "\(metadata.ipVersion)"),
                    ("nodes", "\(metadata.nodeCount)"),
                ])
            ),
            ("when_all_down", JSONText.string(snapshot.config.whenAllDown.rawValue)),
            ("fleet_health", server.health.fleetHealth.map { JSONText.string($0) } ?? "null"),
            ("requests_last_minute", "\(total)"),
            (
                "requests_by_protocol",
                JSONText.object([("http/1.1", "\(byProtocol.http1)"), ("h2", "\(byProtocol.h2)")])
            ),
            ("regions", "[" + regions.joined(separator: ",") + "]"),
            ("targets", "[" + targets.joined(separator: ",") + "]"),
        ])
    }

    static func split(_ uri: String) -> (String, [String: String]) {
        let (path, items) = split(items: uri)
        return (path, Dictionary(items) { _, last in last })
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }
}

/// Lets the channel handlers reach the admin server created after them.
final class AdminBox: Sendable {
    private let box = NIOLockedValueBox<AdminServer?>(nil)
    func set(_ server: AdminServer) { box.withLockedValue { $0 = server } }
    var server: AdminServer? { box.withLockedValue { $0 } }
}

/// Reads one admin request at a time (its body up to 64 KiB) and answers it.
private final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let maxBodyBytes = 65_536

    let admin: AdminBox
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyTooLarge = false

    init(admin: AdminBox) {
        self.admin = admin
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
            body = []
            bodyTooLarge = false
        case .body(let part):
            if body.count + part.readableBytes > Self.maxBodyBytes {
                bodyTooLarge = true
            } else {
                body += part.readableBytesView
            }
        case .end:
            guard let request = head, let server = admin.server else { return }
            head = nil
            let body = bodyTooLarge ? nil : self.body
            self.body = []
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let method = request.method
            let uri = request.uri
            let authorization = request.headers.first(name: "authorization")
            let keepAlive = request.isKeepAlive
            server.executor.run {
                let answer =
                    body == nil
                    ? AdminServer.Answer.error(.payloadTooLarge, "the body is larger than 64 KiB")
                    : await server.answer(method: method, uri: uri, authorization: authorization, body: body!)
                loopBound.eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.write(answer, keepAlive: keepAlive, context: context)
                }
            }
        }
    }

    private func write(_ answer: AdminServer.Answer, keepAlive: Bool, context: ChannelHandlerContext) {
        var body = context.channel.allocator.buffer(capacity: answer.body.utf8.count)
        body.writeString(answer.body)
        var headers: HTTPHeaders = [
            "Content-Type": answer.contentType, "Content-Length": "\(body.readableBytes)", "Cache-Control": "no-store",
        ]
        if answer.status == .unauthorized { headers.add(name: "WWW-Authenticate", value: "Bearer") }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}

extension JSONText {
    /// ISO 8601 for seconds since 1970.
    static func isoTime(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(.iso8601)
    }
}
