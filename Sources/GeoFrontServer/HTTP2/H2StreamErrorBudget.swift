import NIOCore

/// An HTTP/2 connection's allowance of malformed requests (RFC 9113 §8.1.1, §8.2, §8.3), which
/// ``H2ServerStream`` resets itself: NIOHTTP2's own header validation, whose stream errors its
/// `streamErrorRateLimit` counts, is off on client connections (``H2RequestHead`` checks instead),
/// so this keeps the same bound on them — `maximumCount` in each `window` (NIOHTTP2's 200 and
/// `server.h2_flood_window_ms`). Over it, the connection ends with GOAWAY `ENHANCE_YOUR_CALM`,
/// as a flood of stream errors NIOHTTP2 found would. One per connection, on its event loop.
struct H2StreamErrorBudget {
    let maximumCount: Int
    let window: TimeAmount
    private var count = 0
    private var windowStart = NIODeadline.distantPast

    init(maximumCount: Int, window: TimeAmount) {
        self.maximumCount = maximumCount
        self.window = window
    }

    /// Counts one malformed request at `now`; false once more than `maximumCount` came within a
    /// window (windows follow each other from the first malformed request on).
    mutating func spend(now: NIODeadline) -> Bool {
        if now - windowStart >= window {
            windowStart = now
            count = 0
        }
        count += 1
        return count <= maximumCount
    }
}
