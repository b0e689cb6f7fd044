import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import GeoFrontServer

/// The per-loop deadline queue: timers fire once their deadline has passed, in deadline order,
/// never before; moving a deadline later or earlier is honoured; cancelled or disarmed timers
/// stay silent; the queue empties.
@Suite struct LoopTimersTests {
    @Test func timersFireInOrderAfterTheirDeadlines() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let fired = NIOLockedValueBox<[(name: String, early: Bool)]>([])
        let done = loop.makePromise(of: Void.self)
        try await loop.submit {
            let timers = LoopTimers(loop: loop)
            var keep: [DeadlineTimer] = []
            func timer(_ name: String, _ milliseconds: Int64, expected: Int) -> DeadlineTimer {
                let timer = DeadlineTimer(timers: timers)
                let start = NIODeadline.now()
                timer.action = {
                    let early = NIODeadline.now() - start < .milliseconds(Int64(expected))
                    fired.withLockedValue { $0.append((name, early)) }
                    if fired.withLockedValue({ $0.count }) == 4 { done.succeed(()) }
                }
                timer.arm(in: .milliseconds(milliseconds))
                keep.append(timer)
                return timer
            }
            _ = timer("c", 150, expected: 150)
            _ = timer("a", 50, expected: 50)
            let later = timer("d", 20, expected: 250)
            later.arm(in: .milliseconds(250))  // moved later: fires at 250, not 20
            let earlier = timer("b", 400, expected: 100)
            earlier.arm(in: .milliseconds(100))  // moved earlier
            timer("cancelled", 30, expected: 30).cancel()
            timer("disarmed", 40, expected: 40).disarm()
            // Keep the timers alive until they fire.
            let bound = NIOLoopBound((keep, timers), eventLoop: loop)
            done.futureResult.whenComplete { _ in _ = bound.value }
        }.get()
        try await done.futureResult.get()
        try await Task.sleep(for: .milliseconds(100))  // anything else would have fired by now
        let result = fired.withLockedValue { $0 }
        #expect(result.map(\.name) == ["a", "b", "c", "d"])
        #expect(result.allSatisfy { !$0.early })
        try await group.shutdownGracefully()
    }

    @Test func queueEmptiesAndTakesManyTimers() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let count = NIOLockedValueBox(0)
        let timers = try await loop.submit { () -> NIOLoopBound<(LoopTimers, [DeadlineTimer])> in
            let timers = LoopTimers(loop: loop)
            var all: [DeadlineTimer] = []
            for index in 0..<1000 {
                let timer = DeadlineTimer(timers: timers)
                timer.action = { count.withLockedValue { $0 += 1 } }
                timer.arm(in: .milliseconds(Int64(20 + (index * 7919) % 100)))
                if index % 10 == 0 { timer.cancel() }
                all.append(timer)
            }
            return NIOLoopBound((timers, all), eventLoop: loop)
        }.get()
        try await Task.sleep(for: .milliseconds(400))
        #expect(count.withLockedValue { $0 } == 900)
        #expect(try await loop.submit { timers.value.0.count }.get() == 0)
        try await group.shutdownGracefully()
    }
}
