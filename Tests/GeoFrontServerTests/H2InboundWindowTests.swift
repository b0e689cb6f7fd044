import Testing

@testable import GeoFrontServer

/// ``H2InboundWindow`` gives the client credit back once its window and the bytes held for the
/// front end have fallen to half the target, tops it up to the target, counts held bytes as in
/// use, and gives nothing once the request has ended.
@Suite struct H2InboundWindowTests {
    @Test func creditComesBackAtHalfTheWindowAndTopsItUp() {
        var window = H2InboundWindow(target: 65_535)
        #expect(window.reported(65_535 - 16_384) == nil)  // three quarters left
        #expect(window.reported(32_768) == nil)  // just over half
        #expect(window.reported(32_767) == 32_768)  // half: back to the target
        // The credit given counts: the next report is relative to it.
        #expect(window.reported(65_535 - 1_000) == nil)
    }

    @Test func heldBytesCountAsInUseUntilTaken() {
        var window = H2InboundWindow(target: 65_535)
        window.hold(40_000)
        // 20 000 left to the client, 40 000 held: 60 000 in use, more than half.
        #expect(window.reported(20_000) == nil)
        // The front end takes 30 000: 30 000 in use, under half: topped back up to the target.
        #expect(window.taken(30_000) == 35_535)
        #expect(window.held == 10_000)
        // Taken again, with the window already topped up: nothing more.
        #expect(window.taken(10_000) == nil)
    }

    @Test func aClosedWindowGivesNothing() {
        var window = H2InboundWindow(target: 65_535)
        window.closed = true
        #expect(window.reported(0) == nil)
        window.hold(100)
        #expect(window.taken(100) == nil)
    }

    @Test func nothingBeforeTheFirstReport() {
        var window = H2InboundWindow(target: 65_535)
        window.hold(60_000)
        #expect(window.taken(60_000) == nil)
    }
}
