import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A condition a test waited for did not come true within its bound.
public struct WaitTimedOut: Error, CustomStringConvertible {
    public let description: String
}

/// Waits for something a test cannot be told about directly (another thread, a server loop, a
/// watcher task) by polling `condition` every `interval` until it holds. Throws ``WaitTimedOut``
/// naming `what` after `timeout`. The bound is generous on purpose: it only matters when the
/// condition never comes true, and a slow or busy machine must never reach it.
public func waitUntil(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(30), interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try await condition() { return }
        guard clock.now < deadline else {
            throw WaitTimedOut(description: "waited \(timeout) for \(what()), in vain")
        }
        try await Task.sleep(for: interval)
    }
}

/// ``waitUntil(_:timeout:interval:_:)`` for plain threads and synchronous tests (blocks the
/// calling thread; never call it on Swift's cooperative pool from an async test).
public func waitUntilBlocking(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(30), interval: Duration = .milliseconds(10),
    _ condition: () throws -> Bool
) throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    let micros = interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000
    while true {
        if try condition() { return }
        guard clock.now < deadline else {
            throw WaitTimedOut(description: "waited \(timeout) for \(what()), in vain")
        }
        usleep(useconds_t(micros))
    }
}

/// Runs `work` (blocking socket I/O, typically) on a thread of its own and waits for it without
/// holding a thread of Swift's cooperative pool. The pool has one thread per core: a test that
/// blocks in it while another test blocks too can starve a server's `Task` (the admin listener
/// answers in one) until a client's read times out.
public func offThePool<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Swift.Result { try work() })
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
