/// One of S3-FIFO's queues: a ring of node tokens (generation << 32 | node), oldest first. An
/// entry that leaves the store some other way (a purge, a replacement) is not looked for here:
/// its token goes stale (the node's generation moved on) and is skipped when it comes out.
/// Pushes and pops are sequential, so the queue costs no cold cache lines; stale tokens are
/// compacted away when they outnumber the live ones.
struct CacheQueue {
    private var ring: [UInt64] = Array(repeating: 0, count: 16)
    private var start = 0
    private(set) var count = 0

    @inline(__always)
    static func token(node: Int, generation: UInt32) -> UInt64 { UInt64(generation) << 32 | UInt64(node) }

    @inline(__always)
    static func node(_ token: UInt64) -> Int { Int(truncatingIfNeeded: token & 0xffff_ffff) }

    @inline(__always)
    static func generation(_ token: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: token >> 32) }

    mutating func push(_ token: UInt64) {
        if count == ring.count { resize(to: ring.count * 2) }
        ring[(start + count) & (ring.count - 1)] = token
        count += 1
    }

    /// The oldest token, taken out.
    mutating func pop() -> UInt64? {
        guard count > 0 else { return nil }
        let token = ring[start]
        start = (start + 1) & (ring.count - 1)
        count -= 1
        return token
    }

    /// Keeps only the tokens `isLive` accepts, in order (when stale ones pile up).
    mutating func compact(_ isLive: (UInt64) -> Bool) {
        var kept: [UInt64] = []
        kept.reserveCapacity(count)
        for offset in 0..<count {
            let token = ring[(start + offset) & (ring.count - 1)]
            if isLive(token) { kept.append(token) }
        }
        var size = 16
        while size < kept.count * 2 { size *= 2 }
        ring = Array(repeating: 0, count: size)
        for (offset, token) in kept.enumerated() { ring[offset] = token }
        start = 0
        count = kept.count
    }

    mutating func removeAll() { self = CacheQueue() }

    private mutating func resize(to size: Int) {
        var next = Array(repeating: UInt64(0), count: size)
        for offset in 0..<count { next[offset] = ring[(start + offset) & (ring.count - 1)] }
        ring = next
        start = 0
    }
}
