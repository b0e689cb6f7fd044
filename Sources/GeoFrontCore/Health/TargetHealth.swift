/// What one probe found.
public enum ProbeResult: Sendable, Hashable {
    case pass(latencyMilliseconds: Double)
    case fail(ProbeFailure)

    public var passed: Bool {
        if case .pass = self { return true }
        return false
    }
}

/// Why a probe failed, in words an operator reads in logs and `route --probe`.
public enum ProbeFailure: Sendable, Hashable, CustomStringConvertible {
    case connectionRefused
    case timeout(milliseconds: Int)
    case unexpectedStatus(Int)
    case bodyMismatch(expected: String)
    case connectionClosed
    case invalidResponse
    case other(String)

    public var description: String {
        switch self {
        case .connectionRefused: return "connection refused"
        case .timeout(let milliseconds): return "timeout after \(milliseconds) ms"
        case .unexpectedStatus(let status): return "status \(status)"
        case .bodyMismatch(let expected): return "body does not contain \"\(expected)\""
        case .connectionClosed: return "connection closed before a response"
        case .invalidResponse: return "invalid HTTP response"
        case .other(let reason): return reason
        }
    }
}

/// How a probe result changed a target's state.
public enum HealthTransition: Sendable, Hashable {
    /// The state is as before and nothing is building up.
    case unchanged
    /// The result goes against the current state, but not enough times in a row yet.
    case pending
    /// The target changed state with this result.
    case changed(healthy: Bool)
}

/// The health state machine of one target: pure, no I/O, no clock.
///
/// A target starts healthy (fail-open: a region that is dead at boot leaves after `fall`
/// probes). `fall` consecutive failures make a healthy target unhealthy; `rise` consecutive
/// passes make an unhealthy target healthy. A result that agrees with the state resets the count
/// of the opposite kind.
public struct TargetHealth: Sendable, Hashable {
    public private(set) var isHealthy = true
    /// Consecutive results against the current state.
    public private(set) var streak = 0
    public private(set) var lastResult: ProbeResult?
    /// Consecutive failed probes, whatever the state (for explanations).
    public private(set) var consecutiveFailures = 0

    public let rise: Int
    public let fall: Int

    public init(rise: Int, fall: Int, healthy: Bool = true) {
        precondition(rise >= 1 && fall >= 1)
        self.rise = rise
        self.fall = fall
        self.isHealthy = healthy
    }

    public mutating func record(_ result: ProbeResult) -> HealthTransition {
        lastResult = result
        consecutiveFailures = result.passed ? 0 : consecutiveFailures + 1
        if result.passed == isHealthy {
            streak = 0
            return .unchanged
        }
        streak += 1
        if streak >= (isHealthy ? fall : rise) {
            isHealthy.toggle()
            streak = 0
            return .changed(healthy: isHealthy)
        }
        return .pending
    }
}
