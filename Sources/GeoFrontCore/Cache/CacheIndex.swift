/// The store's one hash index: key hash → node, open addressing with linear probing in a flat
/// array of 64-bit slots (a 32-bit tag of the mixed hash, the node index + 1; 0 is empty), at most
/// half full, deletions by backward shift (no tombstones). A lookup reads one run of adjacent
/// slots, usually one cache line, and touches a node only when the tag matches: the miss path of
/// a large cache pays one cold line here, not the three (control bytes, keys, values) and the
/// extra key comparisons of a standard dictionary.
///
/// The slot's home is taken from the tag, so growing and deleting never read a node. The hash is
/// mixed with a per-process seed first, on top of the key's own keyed hash (``CacheKey/hash(_:)``).
struct CacheIndex {
    private var slots: [UInt64]
    private var mask: Int
    private(set) var count = 0
    private let seed: UInt64

    init(seed: UInt64 = .random(in: .min ... .max)) {
        slots = Array(repeating: 0, count: 16)
        mask = 15
        self.seed = seed
    }

    @inline(__always)
    private func tag(_ hash: UInt64) -> UInt64 {
        Self.mix(hash ^ seed) >> 32
    }

    /// MurmurHash3's 64-bit finaliser: every input bit reaches every output bit, so hashes with
    /// a pattern still spread over the slots.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x &*= 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x
    }

    @inline(__always)
    private func home(_ slot: UInt64) -> Int { Int(truncatingIfNeeded: slot >> 32) & mask }

    /// The node under `hash` for which `matches` holds (it compares the node's key), if any.
    @inline(__always)
    func find(_ hash: UInt64, matches: (Int) -> Bool) -> Int? {
        let tag = tag(hash)
        var position = Int(truncatingIfNeeded: tag) & mask
        while true {
            let slot = slots[position]
            if slot == 0 { return nil }
            if slot >> 32 == tag {
                let node = Int(truncatingIfNeeded: slot & 0xffff_ffff) - 1
                if matches(node) { return node }
            }
            position = (position + 1) & mask
        }
    }

    /// Adds `node` under `hash` (the caller knows its key is not in the index yet).
    mutating func insert(_ hash: UInt64, node: Int) {
        if (count + 1) * 2 > slots.count { grow() }
        place((tag(hash) << 32) | UInt64(node + 1))
        count += 1
    }

    /// Removes `node`, which is under `hash`.
    mutating func remove(_ hash: UInt64, node: Int) {
        let value = (tag(hash) << 32) | UInt64(node + 1)
        var hole = Int(truncatingIfNeeded: value >> 32) & mask
        while slots[hole] != value {
            precondition(slots[hole] != 0, "CacheIndex: removing a node that is not indexed")
            hole = (hole + 1) & mask
        }
        // Backward shift: later slots of the run move into the hole unless their home lies
        // cyclically in (hole, position].
        var position = hole
        while true {
            position = (position + 1) & mask
            let slot = slots[position]
            if slot == 0 { break }
            let home = home(slot)
            let stays = hole <= position ? (hole < home && home <= position) : (hole < home || home <= position)
            if stays { continue }
            slots[hole] = slot
            hole = position
        }
        slots[hole] = 0
        count -= 1
    }

    mutating func removeAll() {
        slots = Array(repeating: 0, count: 16)
        mask = 15
        count = 0
    }

    private mutating func place(_ value: UInt64) {
        var position = home(value)
        while slots[position] != 0 { position = (position + 1) & mask }
        slots[position] = value
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for slot in old where slot != 0 { place(slot) }
    }
}
