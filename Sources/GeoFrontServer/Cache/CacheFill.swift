import GeoFrontCore
import NIOCore
import Synchronization

/// One upstream request filling the cache for a key, and the requests for the same key that wait
/// on it instead of going upstream themselves (request collapsing).
///
/// The leader (the exchange that went upstream) tells the fill what happens: the response can be
/// stored (``publish(_:contentLength:secondaryKey:)``: followers start streaming it), it cannot
/// (``release()``: followers go upstream themselves), body parts (``append(_:)``), the end
/// (``finish()``) or a failure (``fail()``). Followers receive the body as it arrives: the parts
/// are kept (they are the entry being stored anyway) and each follower reads from its own cursor
/// when woken on its own event loop. Wakes are coalesced: at most one pending per follower.
final class CacheFill: Sendable {
    enum Phase: Sendable {
        /// The leader's response head has not come yet.
        case waiting
        /// The response is being stored: followers stream it.
        case streaming
        /// The response is not stored: followers go upstream themselves.
        case released
        /// The whole response is in.
        case finished
        /// The leader's exchange failed after the head: followers that began must be cut.
        case failed
    }

    /// What followers write ahead of the body.
    struct Head: Sendable {
        var stored: StoredHead
        /// The body's length when the upstream said it; nil: the body is sent chunked.
        var contentLength: Int?
        /// The leader's secondary key under the response's `Vary`: a follower whose own differs
        /// does not take this response.
        var secondaryKey: String
        /// When the upstream's answer arrived (for `Age`).
        var age: Freshness.AgeInputs
    }

    /// What a follower reads: the phase, the head once published, the parts after its cursor.
    struct Progress {
        var phase: Phase
        var head: Head?
        var parts: ArraySlice<ByteBuffer>
    }

    private struct Waiter {
        var wake: @Sendable () -> Void
        var pending: Bool
    }

    private struct State {
        var phase = Phase.waiting
        var head: Head?
        var parts: [ByteBuffer] = []
        var bytes = 0
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
    }

    /// The primary key (URL and region) the fill is for.
    let key: CacheKey
    private let state = Mutex(State())

    init(key: CacheKey) {
        self.key = key
    }

    /// Joins as a follower; `wake` is called (from any thread) when there is progress to read.
    /// Nil when the fill is already over (the caller looks the key up again).
    func join(wake: @escaping @Sendable () -> Void) -> Int? {
        state.withLock { state in
            switch state.phase {
            case .waiting, .streaming:
                let id = state.nextWaiter
                state.nextWaiter += 1
                state.waiters[id] = Waiter(wake: wake, pending: false)
                return id
            case .released, .finished, .failed:
                return nil
            }
        }
    }

    func leave(_ id: Int) {
        _ = state.withLock { $0.waiters.removeValue(forKey: id) }
    }

    /// The progress after `cursor` parts; clears the follower's pending wake.
    func progress(_ id: Int, after cursor: Int) -> Progress {
        state.withLock { state in
            state.waiters[id]?.pending = false
            return Progress(
                phase: state.phase, head: state.head, parts: state.parts[min(cursor, state.parts.count)...])
        }
    }

    /// Followers waiting now (tests, status).
    var followers: Int { state.withLock { $0.waiters.count } }

    /// The published head, if it came.
    var head: Head? { state.withLock { $0.head } }

    /// The body bytes received so far.
    var receivedBytes: Int { state.withLock { $0.bytes } }

    func publish(_ head: Head) {
        update { state in
            state.head = head
            state.phase = .streaming
        }
    }

    func append(_ part: ByteBuffer) {
        update { state in
            state.parts.append(part)
            state.bytes += part.readableBytes
        }
    }

    func release() { update { $0.phase = .released } }

    func finish() { update { $0.phase = .finished } }

    func fail() {
        update { state in
            // Before the head, nobody began: they may as well go upstream themselves.
            state.phase = state.head == nil ? .released : .failed
        }
    }

    /// The whole body once finished (for the store).
    var body: [ByteBuffer] { state.withLock { $0.parts } }

    private func update(_ change: (inout State) -> Void) {
        let wakes: [@Sendable () -> Void] = state.withLock { state in
            change(&state)
            if state.waiters.isEmpty { return [] }
            var wakes: [@Sendable () -> Void] = []
            for (id, waiter) in state.waiters where !waiter.pending {
                state.waiters[id]!.pending = true
                wakes.append(waiter.wake)
            }
            return wakes
        }
        for wake in wakes { wake() }
    }
}
