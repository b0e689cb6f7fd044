/// `rate_limit` for one request, with `rate_limit.store`: decided now, or asked of Redis.
enum RateLimitTurn {
    case pass
    case limited(retryAfterSeconds: Int)
    /// Redis was asked; the answer comes later, on the event loop.
    case waiting
}
