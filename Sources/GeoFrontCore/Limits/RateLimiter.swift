import GeoIP

/// `rate_limit`: token buckets per client, after client-IP resolution.
public struct RateLimitSettings: Sendable, Hashable {
    public enum Key: String, Sendable, CaseIterable {
        /// One bucket per address.
        case ip
        /// One bucket per IPv4 /24 or IPv6 /64.
        case prefix
    }

    public var requestsPerSecond: Double
    public var burst: Double
    public var key: Key = .ip
    /// Clients never limited.
    public var allow: [IPNetwork] = []
    /// Buckets kept at most (least recently seen evicted): memory stays bounded under a flood of
    /// distinct addresses.
    public var maxTrackedClients = 100_000
    /// `store`: the buckets kept in Redis for the whole fleet; nil keeps them in each event loop.
    public var store: RateLimitStoreSettings?

    public init(requestsPerSecond: Double, burst: Double) {
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
    }

    /// Whether `client` is in `allow` (never limited).
    @inline(__always)
    public func isExempt(_ client: IPAddress) -> Bool {
        for network in allow where network.contains(client) { return true }
        return false
    }

    /// The address whose bucket `client` draws from: its own, or its /24 or /64 with `key: prefix`.
    public func bucketKey(_ client: IPAddress) -> IPAddress {
        let client = client.unmapped
        guard key == .prefix else { return client }
        return IPNetwork(address: client, prefixLength: client.family == .v4 ? 24 : 64)!.address
    }
}

/// Token buckets for clients, at most `capacity` of them, least recently seen evicted first.
/// One per event loop: no locks. Storage is allocated once (parallel arrays and a dictionary of
/// indices), so a flood of new addresses costs no growth beyond `capacity`.
public struct RateLimiter {
    public let settings: RateLimitSettings
    private var index: [IPAddress: Int32] = [:]
    private var keys: [IPAddress] = []
    private var tokens: [Double] = []
    private var updated: [UInt64] = []
    /// Doubly linked recency list over the slots (most recent at `head`).
    private var previous: [Int32] = []
    private var next: [Int32] = []
    private var head: Int32 = -1
    private var tail: Int32 = -1

    public init(settings: RateLimitSettings) {
        self.settings = settings
        index.reserveCapacity(min(settings.maxTrackedClients, 1 << 16))
    }

    /// Clients tracked now.
    public var count: Int { keys.count }

    /// Whether a request from `client` at `now` (nanoseconds, monotonic) may pass; when not,
    /// the seconds until a token is back (for `Retry-After`).
    public mutating func allow(_ client: IPAddress, now: UInt64) -> (allowed: Bool, retryAfterSeconds: Int) {
        if settings.isExempt(client) { return (true, 0) }
        let key = settings.bucketKey(client)
        let slot: Int
        if let existing = index[key] {
            slot = Int(existing)
            refill(slot, now: now)
            touch(slot)
        } else {
            slot = insert(key, now: now)
        }
        if tokens[slot] >= 1 {
            tokens[slot] -= 1
            return (true, 0)
        }
        let wait = (1 - tokens[slot]) / settings.requestsPerSecond
        return (false, max(1, Int(wait.rounded(.up))))
    }

    private mutating func refill(_ slot: Int, now: UInt64) {
        let elapsed = Double(now &- updated[slot]) / 1e9
        tokens[slot] = min(settings.burst, tokens[slot] + elapsed * settings.requestsPerSecond)
        updated[slot] = now
    }

    private mutating func insert(_ key: IPAddress, now: UInt64) -> Int {
        let slot: Int
        if keys.count < settings.maxTrackedClients {
            slot = keys.count
            keys.append(key)
            tokens.append(settings.burst)
            updated.append(now)
            previous.append(-1)
            next.append(-1)
        } else {
            // Reuse the least recently seen slot.
            slot = Int(tail)
            unlink(slot)
            index[keys[slot]] = nil
            keys[slot] = key
            tokens[slot] = settings.burst
            updated[slot] = now
        }
        index[key] = Int32(slot)
        pushFront(slot)
        return slot
    }

    private mutating func touch(_ slot: Int) {
        guard Int32(slot) != head else { return }
        unlink(slot)
        pushFront(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let before = previous[slot]
        let after = next[slot]
        if before >= 0 { next[Int(before)] = after } else { head = after }
        if after >= 0 { previous[Int(after)] = before } else { tail = before }
        previous[slot] = -1
        next[slot] = -1
    }

    private mutating func pushFront(_ slot: Int) {
        previous[slot] = -1
        next[slot] = head
        if head >= 0 { previous[Int(head)] = Int32(slot) }
        head = Int32(slot)
        if tail < 0 { tail = Int32(slot) }
    }
}
