/// S3-FIFO's ghost queue: the hashes of entries recently evicted from the small queue, so that
/// one which comes back enters the main queue directly. Kept as a table rather than a FIFO and a
/// hash set: buckets of four (hash, insertion number) pairs, one cache line each; a hash counts as
/// in the ghost while fewer than `limit` hashes were inserted after it and its bucket kept it (a
/// full bucket gives up its oldest). With twice as many slots as `limit`, that is the last `limit`
/// evictions but for the rare overfull bucket, which only costs that entry a trip through the
/// small queue. One bucket is read per eviction and per insert; nothing is ever shifted.
struct CacheGhost {
    /// Pairs of (hash, insertion number), 4 pairs per bucket; number 0 is an empty slot.
    private var slots: [UInt64]
    private var bucketMask: Int
    private var clock: UInt64 = 1
    /// How many of the latest insertions count.
    var limit = 64 {
        didSet { if limit * 2 > slots.count / 2 { grow(to: limit) } }
    }

    init() {
        slots = Array(repeating: 0, count: 2 * 4 * 32)
        bucketMask = 31
    }

    @inline(__always)
    private func bucket(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: CacheIndex.mix(hash) >> 32) & bucketMask
    }

    @inline(__always)
    private func live(_ stamp: UInt64) -> Bool { stamp != 0 && clock - stamp <= UInt64(limit) }

    mutating func insert(_ hash: UInt64) {
        let base = bucket(hash) * 8
        var victim = -1
        var oldest = UInt64.max
        for slot in stride(from: base, to: base + 8, by: 2) {
            let stamp = slots[slot + 1]
            if slots[slot] == hash && live(stamp) {  // already there: renewed
                victim = slot
                break
            }
            let age: UInt64 = live(stamp) ? stamp : 0  // a free or expired slot first, else the oldest
            if age < oldest {
                oldest = age
                victim = slot
            }
        }
        slots[victim] = hash
        slots[victim + 1] = clock
        clock += 1
    }

    /// Whether `hash` was in the ghost; it leaves it either way. No table read before the first
    /// insertion (a store that never evicted).
    mutating func remove(_ hash: UInt64) -> Bool {
        guard clock > 1 else { return false }
        let base = bucket(hash) * 8
        for slot in stride(from: base, to: base + 8, by: 2) where slots[slot] == hash && live(slots[slot + 1]) {
            slots[slot + 1] = 0
            return true
        }
        return false
    }

    mutating func removeAll() {
        self = CacheGhost()
    }

    /// Room for `limit` hashes in half the slots; the live ones move over.
    private mutating func grow(to limit: Int) {
        var buckets = bucketMask + 1
        while buckets * 4 < limit * 2 { buckets *= 2 }
        let old = slots
        slots = Array(repeating: 0, count: buckets * 8)
        bucketMask = buckets - 1
        for slot in stride(from: 0, to: old.count, by: 2) where live(old[slot + 1]) {
            let base = bucket(old[slot]) * 8
            for target in stride(from: base, to: base + 8, by: 2) where slots[target + 1] == 0 {
                slots[target] = old[slot]
                slots[target + 1] = old[slot + 1]
                break
            }
        }
    }
}
