import GeoFrontCore
import GeoIP
import Logging
import NIOCore

/// `rate_limit.store`: the event loop's decisions through Redis, and what `on_error` decides
/// when Redis cannot.
extension LoopState {
    /// `rate_limit` for a request from `client` with `store` set. Clients in `allow` pass here
    /// without Redis. Otherwise Redis is asked (``RateLimitTurn/waiting``: `resume` gets nil to
    /// pass or the `Retry-After` seconds, on the event loop), unless its connection is down, in
    /// which case `on_error` decides now, without waiting.
    func rateLimitTurn(
        _ client: IPAddress, limit: RateLimitSettings, store: RateLimitStoreSettings,
        _ resume: @escaping (Int?) -> Void
    ) -> RateLimitTurn {
        if limit.isExempt(client) { return .pass }
        let asked = redisStore(for: store).decide(bucket: limit.bucketKey(client), limit: limit) { [self] answer in
            resume(verdict(answer, client: client, limit: limit, store: store))
        }
        if asked { return .waiting }
        if let seconds = fallback(.connectionLost, client: client, limit: limit, store: store) {
            return .limited(retryAfterSeconds: seconds)
        }
        return .pass
    }

    private func verdict(
        _ answer: RedisRateLimitStore.Answer, client: IPAddress, limit: RateLimitSettings,
        store: RateLimitStoreSettings
    ) -> Int? {
        switch answer {
        case .allowed:
            metrics.storeAllowed.increment()
            return nil
        case .limited(let seconds):
            metrics.storeLimited.increment()
            metrics.rateLimited.increment()
            return seconds
        case .failed(let failure):
            return fallback(failure, client: client, limit: limit, store: store)
        }
    }

    /// `on_error`'s decision, counted by reason.
    private func fallback(
        _ failure: RedisFailure, client: IPAddress, limit: RateLimitSettings, store: RateLimitStoreSettings
    ) -> Int? {
        (failure == .timeout ? metrics.storeFallbackTimeout : metrics.storeFallbackError).increment()
        switch store.onError {
        case .local:
            return rateLimited(client, settings: limit)
        case .allow:
            return nil
        case .deny:
            metrics.rateLimited.increment()
            return 1
        }
    }

    /// The loop's store for `settings`, made (and connected) at start, or at first use after a
    /// reload changed them.
    func redisStore(for settings: RateLimitStoreSettings) -> RedisRateLimitStore {
        if let store = rateLimitStore, store.settings == settings { return store }
        rateLimitStore?.shutdown()
        let connections = metrics.storeConnections
        let store = RedisRateLimitStore(
            settings: settings, eventLoop: eventLoop, logger: Logger(label: "geofront.redis"),
            onReady: { up in up ? connections.increment() : connections.decrement() })
        rateLimitStore = store
        return store
    }

    /// Closes the Redis connection of a configuration that no longer has `rate_limit.store`.
    func closeRateLimitStore() {
        rateLimitStore?.shutdown()
        rateLimitStore = nil
    }
}
