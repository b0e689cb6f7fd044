/// A route's `rollback`: a backend whose error rate over the last `window_s` exceeds
/// `max_error_rate`, over at least `min_requests` requests, gets weight 0.
public struct RollbackSettings: Sendable, Hashable {
    /// 0…1: the share of 5xx answers and failed upstream attempts that is too much.
    public var maxErrorRate: Double
    /// Fewer requests in the window never trigger a rollback.
    public var minRequests: Int
    /// The sliding window, in seconds.
    public var windowSeconds: Int

    public init(maxErrorRate: Double, minRequests: Int = 100, windowSeconds: Int = 60) {
        self.maxErrorRate = maxErrorRate
        self.minRequests = minRequests
        self.windowSeconds = windowSeconds
    }
}
