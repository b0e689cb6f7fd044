import GeoFrontCore
import GeoIP
import Logging
import NIOCore

/// An event loop's way to Redis for `rate_limit.store`: one ``RedisConnection`` (many decisions
/// in flight on it at once), and the decision as one `EVALSHA` of ``RateLimitScript``. After
/// `NOSCRIPT` (Redis restarted, or `SCRIPT FLUSH`) the request is sent again as `EVAL`, which
/// loads the script; a new connection loads it with `SCRIPT LOAD` before taking requests.
/// Confined to its event loop.
final class RedisRateLimitStore {
    /// What Redis said about one request.
    enum Answer {
        case allowed
        case limited(retryAfterSeconds: Int)
        /// No usable answer: `on_error` decides.
        case failed(RedisFailure)
    }

    let settings: RateLimitStoreSettings
    let connection: RedisConnection
    private let timeout: TimeAmount
    private let prefix: ByteBuffer
    /// The script's arguments for the limit last asked about (the same one, but for reloads).
    private var arguments: (rate: Double, burst: Double, values: [RESPValue]) = (0, 0, [])

    private static let evalsha: [RESPValue] = ["EVALSHA", RateLimitScript.sha1, "1"].map {
        .bulkString(ByteBuffer(string: $0))
    }
    private static let eval: [RESPValue] = ["EVAL", RateLimitScript.source, "1"].map {
        .bulkString(ByteBuffer(string: $0))
    }

    /// Bucket keys: `geofront:rl:` then the bucket's address (`1.2.3.4`, or `1.2.3.0` with
    /// `key: prefix`).
    static let keyPrefix = "geofront:rl:"

    init(settings: RateLimitStoreSettings, eventLoop: any EventLoop, logger: Logger, onReady: @escaping (Bool) -> Void)
    {
        self.settings = settings
        timeout = .milliseconds(Int64(settings.timeoutMilliseconds))
        prefix = ByteBuffer(string: Self.keyPrefix)
        // A connection with no reply to its oldest request for this long is taken for hung.
        let staleAfter = TimeAmount.milliseconds(max(500, 20 * Int64(settings.timeoutMilliseconds)))
        connection = RedisConnection(
            endpoint: settings.endpoint, eventLoop: eventLoop,
            setup: [.command(["SCRIPT", "LOAD", RateLimitScript.source])], staleAfter: staleAfter, logger: logger,
            onReady: onReady)
        connection.start()
    }

    /// Asks Redis about one request drawing from `bucket`'s token bucket; `done` is called once,
    /// on the event loop, within `timeout_ms` (and a NOSCRIPT retry). False (and `done` is never
    /// called) when the connection is not up: the caller decides at once.
    func decide(bucket: IPAddress, limit: RateLimitSettings, _ done: @escaping (Answer) -> Void) -> Bool {
        var key = prefix
        key.writeString(bucket.description)
        if arguments.rate != limit.requestsPerSecond || arguments.burst != limit.burst {
            let ttl = RateLimitScript.ttlMilliseconds(rate: limit.requestsPerSecond, burst: limit.burst)
            let words = [String(limit.requestsPerSecond), String(limit.burst), String(ttl)]
            arguments = (limit.requestsPerSecond, limit.burst, words.map { .bulkString(ByteBuffer(string: $0)) })
        }
        let values = arguments.values
        return connection.send(Self.command(Self.evalsha, key, values), timeout: timeout) { [self] result in
            if case .success(.error(let message)) = result, message.hasPrefix("NOSCRIPT") {
                let eval = Self.command(Self.eval, key, values)
                if !connection.send(eval, timeout: timeout, { done(Self.answer($0)) }) {
                    done(.failed(.connectionLost))
                }
                return
            }
            done(Self.answer(result))
        }
    }

    /// `EVALSHA sha 1 KEY rate burst ttl` (or `EVAL source …`) as one array.
    private static func command(_ head: [RESPValue], _ key: ByteBuffer, _ arguments: [RESPValue]) -> RESPValue {
        var words: [RESPValue] = []
        words.reserveCapacity(head.count + 1 + arguments.count)
        words.append(contentsOf: head)
        words.append(.bulkString(key))
        words.append(contentsOf: arguments)
        return .array(words)
    }

    /// The script's reply `{allowed, seconds}` as an ``Answer``; anything else is a failure.
    static func answer(_ result: Result<RESPValue, RedisFailure>) -> Answer {
        switch result {
        case .success(.array(let items?)) where items.count == 2:
            guard case .integer(let allowed) = items[0], case .integer(let wait) = items[1] else {
                return .failed(.badReply)
            }
            return allowed == 1 ? .allowed : .limited(retryAfterSeconds: Int(max(1, min(wait, 86_400))))
        case .success:
            // An error reply (OOM, a read-only replica…) or an unexpected value.
            return .failed(.badReply)
        case .failure(let failure):
            return .failed(failure)
        }
    }

    func shutdown() {
        connection.shutdown()
    }
}
