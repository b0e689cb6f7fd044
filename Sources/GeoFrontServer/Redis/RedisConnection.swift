import GeoFrontCore
import Logging
import NIOCore
import NIOPosix

/// One persistent connection to Redis for one event loop, with every request pipelined on it
/// (``RedisPipelineHandler``). After connecting it logs in (`AUTH`), picks the database
/// (`SELECT`) and sends the owner's `setup` commands; it takes requests only once all of them
/// succeeded. A failed connect, a failed setup or a lost connection is retried with exponential
/// backoff (100 ms doubling to 5 s, with jitter), and meanwhile ``send(_:timeout:_:)`` refuses
/// at once, so callers fall back without waiting. Confined to `eventLoop`.
final class RedisConnection {
    enum State {
        case connecting
        case ready(RedisPipelineHandler)
        /// Down: the next attempt is scheduled.
        case backingOff
        case shutDown
    }

    let endpoint: RedisEndpoint
    let eventLoop: any EventLoop
    private let setup: [RESPValue]
    private let staleAfter: TimeAmount
    private let logger: Logger
    /// Called with true when the connection becomes ready, false when a ready one is lost.
    private let onReady: (Bool) -> Void
    private(set) var state = State.connecting
    private var channel: (any Channel)?
    /// Failed attempts since the connection was last ready.
    private(set) var attempt = 0
    private var retry: Scheduled<Void>?

    static let connectTimeout = TimeAmount.seconds(1)
    static let firstBackoff = TimeAmount.milliseconds(100)
    static let maxBackoff = TimeAmount.seconds(5)
    /// The most requests waiting on the connection; more are refused (the caller falls back).
    static let maxInFlight = 16_384

    init(
        endpoint: RedisEndpoint, eventLoop: any EventLoop, setup: [RESPValue], staleAfter: TimeAmount, logger: Logger,
        onReady: @escaping (Bool) -> Void
    ) {
        self.endpoint = endpoint
        self.eventLoop = eventLoop
        self.setup = setup
        self.staleAfter = staleAfter
        self.logger = logger
        self.onReady = onReady
    }

    var isReady: Bool {
        if case .ready = state { return true }
        return false
    }

    /// Starts connecting.
    func start() {
        connect()
    }

    /// Sends `command` when the connection is ready and not overloaded, and returns true;
    /// otherwise returns false at once and `callback` is never called.
    func send(_ command: RESPValue, timeout: TimeAmount, _ callback: @escaping RedisPipelineHandler.Callback) -> Bool {
        guard case .ready(let handler) = state, handler.inFlight < Self.maxInFlight else { return false }
        return handler.send(command, timeout: timeout, callback)
    }

    /// Closes the connection for good (a new configuration replaced it).
    func shutdown() {
        let wasReady = isReady
        state = .shutDown
        retry?.cancel()
        retry = nil
        channel?.close(promise: nil)
        channel = nil
        if wasReady { onReady(false) }
    }

    private func connect() {
        guard case .connecting = state else { return }
        let staleAfter = self.staleAfter
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(Self.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(MessageToByteHandler(RESPEncoder()))
                    try pipeline.addHandler(ByteToMessageHandler(RESPDecoder()))
                    try pipeline.addHandler(RedisPipelineHandler(staleAfter: staleAfter))
                }
            }
        bootstrap.connect(host: endpoint.host, port: endpoint.port).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let channel):
                guard case .connecting = state else {
                    channel.close(promise: nil)
                    return
                }
                self.channel = channel
                channel.closeFuture.assumeIsolated().whenComplete { [self] _ in closed(channel) }
                guard let handler = try? channel.pipeline.syncOperations.handler(type: RedisPipelineHandler.self)
                else {
                    channel.close(promise: nil)
                    return
                }
                logIn(handler, channel: channel)
            case .failure(let error):
                down("cannot connect: \(error)")
            }
        }
    }

    /// AUTH, SELECT and the setup commands, pipelined; ready when every reply is not an error.
    private func logIn(_ handler: RedisPipelineHandler, channel: any Channel) {
        var commands: [(RESPValue, String)] = []
        if let password = endpoint.password {
            let words = endpoint.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
            commands.append((.command(words), "AUTH"))
        }
        if endpoint.database != 0 { commands.append((.command(["SELECT", String(endpoint.database)]), "SELECT")) }
        for command in setup { commands.append((command, "setup")) }
        var left = commands.count
        var failed = false
        if left == 0 {
            becomeReady(handler)
            return
        }
        for (command, name) in commands {
            let sent = handler.send(command, timeout: Self.connectTimeout) { [self] result in
                guard !failed, self.channel === channel else { return }
                switch result {
                case .success(.error(let message)):
                    failed = true
                    // Logged as `down` is: at the first attempt and at each doubling of them.
                    if attempt & (attempt &- 1) == 0 {
                        logger.error(
                            "Redis refused \(name)",
                            metadata: ["redis": "\(endpoint)", "reply": "\(message.prefix(200))"])
                    }
                    channel.close(promise: nil)
                case .failure:
                    failed = true
                    channel.close(promise: nil)
                case .success:
                    left -= 1
                    if left == 0 { becomeReady(handler) }
                }
            }
            if !sent {
                channel.close(promise: nil)
                return
            }
        }
    }

    private func becomeReady(_ handler: RedisPipelineHandler) {
        guard case .connecting = state else { return }
        state = .ready(handler)
        if attempt > 0 { logger.notice("Redis connection up again", metadata: ["redis": "\(endpoint)"]) }
        attempt = 0
        onReady(true)
    }

    private func closed(_ channel: any Channel) {
        guard self.channel === channel else { return }
        self.channel = nil
        down("connection closed")
    }

    /// Not connected: a new attempt after the backoff.
    private func down(_ reason: String) {
        let wasReady = isReady
        switch state {
        case .shutDown, .backingOff: return
        case .connecting, .ready: state = .backingOff
        }
        if wasReady { onReady(false) }
        // Logged at the first failure and then at each doubling of the attempts, not every retry.
        if attempt & (attempt &- 1) == 0 {
            logger.warning(
                "Redis unavailable: rate limits use rate_limit.store.on_error",
                metadata: ["redis": "\(endpoint)", "reason": "\(reason)", "attempt": "\(attempt + 1)"])
        }
        let base = min(Self.maxBackoff.nanoseconds, Self.firstBackoff.nanoseconds << min(attempt, 16))
        let delay = TimeAmount.nanoseconds(base / 2 + Int64.random(in: 0...(base / 2)))
        attempt += 1
        retry = eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            retry = nil
            guard case .backingOff = state else { return }
            state = .connecting
            connect()
        }
    }
}
