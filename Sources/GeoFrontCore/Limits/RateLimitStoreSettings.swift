/// `rate_limit.store`: the token buckets kept in Redis, shared by every instance of a fleet.
public struct RateLimitStoreSettings: Sendable, Hashable {
    /// What a decision is when Redis does not answer within `timeout_ms` or cannot be reached.
    public enum OnError: String, Sendable, CaseIterable {
        /// This event loop's own token bucket decides (the limit holds per instance).
        case local
        /// The request passes.
        case allow
        /// The request gets 429.
        case deny
    }

    /// `redis://[user[:password]@]host[:port][/db]`, parsed.
    public var endpoint: RedisEndpoint
    /// The longest wait for a decision, in milliseconds.
    public var timeoutMilliseconds = 5
    public var onError = OnError.local

    public init(endpoint: RedisEndpoint) {
        self.endpoint = endpoint
    }
}
