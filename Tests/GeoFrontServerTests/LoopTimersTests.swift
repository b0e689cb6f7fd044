import NIOCore
import NIOEmbedded
import Testing

@testable import GeoFrontServer

/// The per-loop deadline queue: timers fire once their deadline has passed, in deadline order,
/// never before; moving a deadline later or earlier is honoured; cancelled or disarmed timers
/// stay silent; the queue empties.
///
/// Time is driven: the queue reads its loop's clock, so on an `EmbeddedEventLoop` nothing fires
/// until the test advances the time, and the test says exactly when each timer must fire.
@Suite struct LoopTimersTests {
    @Test func timersFireInOrderAtTheirDeadlines() throws {
        let loop = EmbeddedEventLoop()
        let timers = LoopTimers(loop: loop)
        var fired: [(name: String, at: Int64)] = []
        var keep: [DeadlineTimer] = []
        let start = loop.now
        func timer(_ name: String, _ milliseconds: Int64) -> DeadlineTimer {
            let timer = DeadlineTimer(timers: timers)
            timer.action = { fired.append((name, (loop.now - start).nanoseconds / 1_000_000)) }
            timer.arm(in: .milliseconds(milliseconds))
            keep.append(timer)
            return timer
        }
        _ = timer("c", 150)
        _ = timer("a", 50)
        let d = timer("d", 20)
        let b = timer("b", 400)
        timer("cancelled", 30).cancel()
        timer("disarmed", 40).disarm()
        loop.advanceTime(by: .milliseconds(10))
        d.arm(in: .milliseconds(240))  // moved later: due at 250, not 20
        b.arm(in: .milliseconds(90))  // moved earlier: due at 100, not 410

        loop.advanceTime(by: .milliseconds(39))  // 49 ms: nothing is due yet
        #expect(fired.isEmpty)
        loop.advanceTime(by: .milliseconds(1))  // 50
        #expect(fired.map(\.name) == ["a"])
        loop.advanceTime(by: .milliseconds(49))  // 99
        #expect(fired.map(\.name) == ["a"])
        loop.advanceTime(by: .milliseconds(1))  // 100
        #expect(fired.map(\.name) == ["a", "b"])
        loop.advanceTime(by: .milliseconds(149))  // 249
        #expect(fired.map(\.name) == ["a", "b", "c"])
        loop.advanceTime(by: .milliseconds(1))  // 250
        #expect(fired.map(\.name) == ["a", "b", "c", "d"])
        #expect(fired.map(\.at) == [50, 100, 150, 250])
        loop.advanceTime(by: .seconds(10))
        #expect(fired.count == 4)  // cancelled and disarmed stay silent, and b fires only once
        #expect(timers.count == 0)
        _ = keep
    }

    @Test func queueEmptiesAndTakesManyTimers() throws {
        let loop = EmbeddedEventLoop()
        let timers = LoopTimers(loop: loop)
        var count = 0
        var all: [DeadlineTimer] = []
        for index in 0..<1000 {
            let timer = DeadlineTimer(timers: timers)
            timer.action = { count += 1 }
            timer.arm(in: .milliseconds(Int64(20 + (index * 7919) % 100)))
            if index % 10 == 0 { timer.cancel() }
            all.append(timer)
        }
        loop.advanceTime(by: .milliseconds(19))
        #expect(count == 0)
        loop.advanceTime(by: .milliseconds(101))
        #expect(count == 900)
        #expect(timers.count == 0)
        _ = all
    }

    /// A timer re-armed before its deadline (a keep-alive connection that keeps working) never
    /// fires; one left alone fires once its last deadline passes.
    @Test func rearmingPostponesTheDeadline() throws {
        let loop = EmbeddedEventLoop()
        let timers = LoopTimers(loop: loop)
        var fired = 0
        let timer = DeadlineTimer(timers: timers)
        timer.action = { fired += 1 }
        for _ in 0..<20 {
            timer.arm(in: .milliseconds(100))
            loop.advanceTime(by: .milliseconds(60))
        }
        #expect(fired == 0)
        loop.advanceTime(by: .milliseconds(39))
        #expect(fired == 0)
        loop.advanceTime(by: .milliseconds(1))
        #expect(fired == 1)
    }
}
