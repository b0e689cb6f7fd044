import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import GeoFrontServer

/// The per-loop deadline queue: timers fire once their deadline has passed, in deadline order,
/// never before; moving a deadline later or earlier is honoured; cancelled or disarmed timers
/// stay silent; the queue empties.
///
/// These run on a real event loop: `LoopTimers` and `DeadlineTimer` read `NIODeadline.now()`
/// rather than their loop's clock, so an `EmbeddedEventLoop` cannot drive them. Nothing here
/// waits a fixed time or assumes how fast the loop runs: the expected order is worked out from
/// the deadlines the timers were really given, and the tests wait for the queue to empty.
@Suite struct LoopTimersTests {
    @Test func timersFireInOrderAfterTheirDeadlines() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let fired = NIOLockedValueBox<[(name: String, early: Bool)]>([])
        // Each timer's deadline once armed for the last time, and the one it had before a move.
        let deadlines = NIOLockedValueBox<[String: (final: NIODeadline, before: NIODeadline?)]>([:])
        let done = loop.makePromise(of: Void.self)
        let queue = try await loop.submit { () -> NIOLoopBound<(LoopTimers, [DeadlineTimer])> in
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
                deadlines.withLockedValue { $0[name] = (timer.deadline!, nil) }
                keep.append(timer)
                return timer
            }
            func move(_ name: String, _ timer: DeadlineTimer, to milliseconds: Int64) {
                let before = timer.deadline!
                timer.arm(in: .milliseconds(milliseconds))
                deadlines.withLockedValue { $0[name] = (timer.deadline!, before) }
            }
            _ = timer("c", 150, expected: 150)
            _ = timer("a", 50, expected: 50)
            move("d", timer("d", 20, expected: 250), to: 250)  // moved later: fires at 250, not 20
            move("b", timer("b", 400, expected: 100), to: 100)  // moved earlier
            timer("cancelled", 30, expected: 30).cancel()
            timer("disarmed", 40, expected: 40).disarm()
            return NIOLoopBound((timers, keep), eventLoop: loop)
        }.get()
        try await done.futureResult.get()
        // Every deadline has passed once the fourth timer fired; when the queue is empty, nothing
        // is left that could still fire.
        try await waitUntil("the timer queue to empty") {
            try await loop.submit { queue.value.0.count }.get() == 0
        }
        let result = fired.withLockedValue { $0 }
        let given = deadlines.withLockedValue { $0 }
        // On an idle machine that is a, b, c, d; a stall while arming only shifts the deadlines.
        let byDeadline = ["a", "b", "c", "d"].sorted { given[$0]!.final < given[$1]!.final }
        #expect(result.map(\.name) == byDeadline)
        #expect(result.allSatisfy { !$0.early })
        #expect(given["d"]!.final > given["d"]!.before!)
        #expect(given["b"]!.final < given["b"]!.before!)
        #expect(given["b"]!.before! > given["d"]!.final)  // "b" really was moved from after "d"
        try await loop.submit { _ = queue.value }.get()  // the timers lived until here
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
        // Once the queue is empty every timer still in it has fired, and none can any more.
        try await waitUntil("the timer queue to empty") {
            try await loop.submit { timers.value.0.count }.get() == 0
        }
        #expect(count.withLockedValue { $0 } == 900)
        try await group.shutdownGracefully()
    }
}
