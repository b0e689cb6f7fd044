import NIOCore
import Testing

@testable import GeoFrontServer

/// ``H2StreamErrorBudget``: at most `maximumCount` malformed requests per window, the count
/// starting again in the next window.
@Suite struct H2StreamErrorBudgetTests {
    @Test func theAllowanceRunsOutWithinAWindowAndComesBackInTheNext() {
        var budget = H2StreamErrorBudget(maximumCount: 3, window: .seconds(10))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        var allowed: [Bool] = []
        for offset in [0, 1_000, 2_000, 9_000, 9_999, 10_000, 11_000, 12_000, 13_000] {
            allowed.append(budget.spend(now: start + .milliseconds(Int64(offset))))
        }
        // Three in the first window, then refused; the next window starts at 10 s with three more.
        #expect(allowed == [true, true, true, false, false, true, true, true, false])
    }
}
