import NIOCore

/// The connection deadlines of one event loop: a binary min-heap of ``DeadlineTimer``s by the time
/// each is due, served by a single scheduled task for the earliest. A connection costs one small
/// timer object, not a scheduled task with its promise and closures (the way nginx keeps one
/// timer tree per worker). Confined to its event loop.
final class LoopTimers {
    private let loop: any EventLoop
    private var heap: [DeadlineTimer] = []
    private var task: Scheduled<Void>?
    /// When `task` runs.
    private var taskAt: NIODeadline?

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// Timers queued (tests, status).
    var count: Int { heap.count }

    /// The loop's clock (real time on a real loop; the driven time of an `EmbeddedEventLoop`).
    @inline(__always)
    var now: NIODeadline { loop.now }

    /// Queues `timer` for `when`, or moves it there if it is queued for later.
    func queue(_ timer: DeadlineTimer, at when: NIODeadline) {
        timer.queuedFor = when
        if timer.heapIndex >= 0 {
            siftUp(timer.heapIndex)
            siftDown(timer.heapIndex)
        } else {
            timer.heapIndex = heap.count
            heap.append(timer)
            siftUp(timer.heapIndex)
        }
        if timer.heapIndex == 0 { scheduleTask() }
    }

    func remove(_ timer: DeadlineTimer) {
        let index = timer.heapIndex
        guard index >= 0 else { return }
        timer.heapIndex = -1
        let last = heap.removeLast()
        guard index < heap.count else { return }
        heap[index] = last
        last.heapIndex = index
        siftUp(index)
        siftDown(last.heapIndex)
        // A task for a removed earliest timer runs early and finds nothing due: harmless.
    }

    private func scheduleTask() {
        guard let first = heap.first else { return }
        if task != nil, let taskAt, taskAt <= first.queuedFor { return }
        task?.cancel()
        taskAt = first.queuedFor
        let bound = NIOLoopBound(self, eventLoop: loop)
        task = loop.scheduleTask(deadline: first.queuedFor) { bound.value.run() }
    }

    private func run() {
        task = nil
        taskAt = nil
        let now = loop.now
        while let first = heap.first, first.queuedFor <= now {
            remove(first)
            first.reached(now: now)  // may queue it again, or run its action (which may close)
        }
        scheduleTask()
    }

    private func siftUp(_ start: Int) {
        var index = start
        while index > 0 {
            let parent = (index - 1) / 2
            guard heap[index].queuedFor < heap[parent].queuedFor else { return }
            swapAt(index, parent)
            index = parent
        }
    }

    private func siftDown(_ start: Int) {
        var index = start
        while true {
            let left = 2 * index + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count, heap[left + 1].queuedFor < heap[left].queuedFor { smallest = left + 1 }
            guard heap[smallest].queuedFor < heap[index].queuedFor else { return }
            swapAt(index, smallest)
            index = smallest
        }
    }

    private func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].heapIndex = a
        heap[b].heapIndex = b
    }
}
