import NIOCore
import NIOPosix

/// The admin listener's own thread, as the executor its answers run on (a task executor
/// preference, SE-0417): an answer never waits for a thread of Swift's cooperative pool, so the
/// admin API stays responsive when that pool is busy (or, in tests, blocked), and slow answers
/// (a reload, a preview) never run on an event loop that serves requests.
final class AdminExecutor: TaskExecutor, @unchecked Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let loop: any EventLoop

    init() {
        loop = group.next()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }

    /// Runs `body` in a task that prefers this executor.
    func run(_ body: @escaping @Sendable () async -> Void) {
        Task(executorPreference: self) { await body() }
    }

    func shutdown() async {
        try? await group.shutdownGracefully()
    }
}
