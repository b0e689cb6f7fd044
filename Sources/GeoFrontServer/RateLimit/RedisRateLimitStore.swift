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
        let arguments: [RESPValue] = [
            .bulkString(ByteBuffer(string: String(limit.requestsPerSecond))),
            .bulkString(ByteBuffer(string: String(limit.burst))),
            .bulkString(
                ByteBuffer(
                    string: String(
                        RateLimitScript.ttlMilliseconds(rate: limit.requestsPerSecond, burst: limit.burst)))),
        ]
        let evalsha: RESPValue = .array(
            [
                .bulkString(ByteBuffer(string: "EVALSHA")), .bulkString(ByteBuffer(string: RateLimitScript.sha1)),
                .bulkString(ByteBuffer(string: "1")), .bulkString(key),
            ] + arguments)
        return connection.send(evalsha, timeout: timeout) { [self] result in
            if case .success(.error(let message)) = result, message.hasPrefix("NOSCRIPT") {
                let eval: RESPValue = .array(
                    [
                        .bulkString(ByteBuffer(string: "EVAL")),
                        .bulkString(ByteBuffer(string: RateLimitScript.source)),
                        .bulkString(ByteBuffer(string: "1")), .bulkString(key),
                    ] + arguments)
                if !connection.send(eval, timeout: timeout, { done(Self.answer($0)) }) {
                    done(.failed(.connectionLost))
                }
                return
            }
            done(Self.answer(result))
        }
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
