/// One route's runtime state for `GET /routes` and the status page (``RouteControl/report(now:)``):
/// plain stored properties, so it encodes as it reads.
public struct RouteReport: Sendable, Hashable, Encodable {
    public struct Backend: Sendable, Hashable, Encodable {
        public var service: String
        /// The weight in the configuration file.
        public var configuredWeight: Int
        /// The effective weight: configured, set at run time, or 0 after a rollback.
        public var weight: Int
        /// Every outcome reported since the route's backends last changed.
        public var requests: UInt64
        /// Of which 5xx answers and failed upstream attempts.
        public var errors: UInt64
        /// In the rollback window (routes with `rollback` only).
        public var windowRequests: Int?
        public var windowErrors: Int?
        /// Set to 0 by an automatic rollback (and not set again since).
        public var rolledBack: Bool
        /// When, in wall-clock seconds since 1970.
        public var rolledBackAt: Double?
        /// Over the threshold but kept, as the last backend with a weight above 0.
        public var keptAsLastBackend: Bool

        public init(
            service: String, configuredWeight: Int, weight: Int, requests: UInt64, errors: UInt64,
            windowRequests: Int? = nil, windowErrors: Int? = nil, rolledBack: Bool = false,
            rolledBackAt: Double? = nil, keptAsLastBackend: Bool = false
        ) {
            self.service = service
            self.configuredWeight = configuredWeight
            self.weight = weight
            self.requests = requests
            self.errors = errors
            self.windowRequests = windowRequests
            self.windowErrors = windowErrors
            self.rolledBack = rolledBack
            self.rolledBackAt = rolledBackAt
            self.keptAsLastBackend = keptAsLastBackend
        }
    }

    /// The route's `rollback` settings, and the length of the window's buckets.
    public struct Rollback: Sendable, Hashable, Encodable {
        public var maxErrorRate: Double
        public var minRequests: Int
        public var windowSeconds: Int
        /// The window's granularity: outcomes leave it one bucket at a time.
        public var bucketSeconds: Int

        public init(maxErrorRate: Double, minRequests: Int, windowSeconds: Int, bucketSeconds: Int) {
            self.maxErrorRate = maxErrorRate
            self.minRequests = minRequests
            self.windowSeconds = windowSeconds
            self.bucketSeconds = bucketSeconds
        }
    }

    public var name: String
    /// In the route's order.
    public var backends: [Backend]
    /// Nil: the route never rolls back.
    public var rollback: Rollback?

    public init(name: String, backends: [Backend], rollback: Rollback?) {
        self.name = name
        self.backends = backends
        self.rollback = rollback
    }
}
