/// How a region's targets are probed (`health_check`, globally and per region).
public struct HealthCheckSettings: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        /// `GET path`; passes on an expected status (and body substring, when set).
        case http
        /// A TCP connect; passes when the connection is accepted.
        case tcp
    }

    public var kind: Kind
    /// Request path for `http` checks.
    public var path: String
    public var intervalMilliseconds: Int
    public var timeoutMilliseconds: Int
    /// Consecutive passes that bring an unhealthy target back.
    public var rise: Int
    /// Consecutive failures that take a healthy target out.
    public var fall: Int
    /// Statuses that pass, e.g. `200-399`.
    public var expectStatus: StatusRanges
    /// A substring the body must contain (only the first 64 KiB are read).
    public var expectBody: String?
    /// The `Host` header of `http` checks; the target's `host:port` when nil.
    public var host: String?
    /// Fleet mode (`--config etcd://…`): the fraction (0 < q ≤ 1) of the live instances checking
    /// a target that must see it down for it to count as down for routing. nil: each instance
    /// routes on its own view.
    public var quorum: Double?

    public init(
        kind: Kind = .http, path: String = "/healthz", intervalMilliseconds: Int = 2000,
        timeoutMilliseconds: Int = 1000,
        rise: Int = 2, fall: Int = 3, expectStatus: StatusRanges = StatusRanges([200...399]), expectBody: String? = nil,
        host: String? = nil, quorum: Double? = nil
    ) {
        self.kind = kind
        self.path = path
        self.intervalMilliseconds = intervalMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
        self.rise = rise
        self.fall = fall
        self.expectStatus = expectStatus
        self.expectBody = expectBody
        self.host = host
        self.quorum = quorum
    }

    /// The most a probe's start is delayed beyond `interval`, so that targets drift apart instead
    /// of being probed in lock-step: a tenth of the interval.
    public var jitterMilliseconds: Int { intervalMilliseconds / 10 }

    /// Worst case from a target failing to its region leaving rotation (when that target was the
    /// one keeping the region available): `fall` probes, each waiting up to interval + jitter and
    /// taking up to the timeout.
    public var worstCaseDetectionMilliseconds: Int {
        (intervalMilliseconds + jitterMilliseconds + timeoutMilliseconds) * fall
    }

    /// Worst case from a target recovering to its region returning: `rise` passing probes, each
    /// waiting up to interval + jitter (a passing probe takes a round trip, not the timeout).
    public var worstCaseRecoveryMilliseconds: Int {
        (intervalMilliseconds + jitterMilliseconds) * rise
    }
}

/// A set of HTTP status ranges such as `200-399` or `200,204,300-308`.
public struct StatusRanges: Sendable, Hashable, CustomStringConvertible {
    public let ranges: [ClosedRange<Int>]

    public init(_ ranges: [ClosedRange<Int>]) {
        self.ranges = ranges
    }

    /// Parses `200-399`, `200`, `200,204,300-308`; statuses must be within 100…599.
    public init?(_ text: String) {
        var ranges: [ClosedRange<Int>] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.trimmingSpaces().split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2,
                let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]),
                (100...599).contains(low), (100...599).contains(high), low <= high
            else { return nil }
            ranges.append(low...high)
        }
        guard !ranges.isEmpty else { return nil }
        self.ranges = ranges
    }

    public func contains(_ status: Int) -> Bool {
        ranges.contains { $0.contains(status) }
    }

    public var description: String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
