/// W-TinyLFU's doorkeeper, for the store's admission (``CacheStore/admits(hash:)``): one bit per
/// hash in a table of sixteen bits per stored entry (a power of two, 2048 bits at least), cleared
/// after as many new hashes as the store holds entries went in. "Seen" therefore means "asked for
/// within about the last store's worth of new URLs", wrong by a false positive now and then (at most
/// about one in sixteen: a URL asked for once let in, which only costs what storing it costs, as
/// before there was a doorkeeper). A bit table rather than a hash table: 2 bytes per entry (400 KB
/// for 200,000 entries), small enough to stay in the CPU's caches, so the miss path seldom pays a
/// cold line for it.
struct CacheDoorkeeper {
    private var words: [UInt64] = []
    private var mask = 0
    private var added = 0

    /// Whether `hash` was seen since the last clear; it is seen from now on either way. `window`
    /// is the store's entry count: the table's size and how often it is cleared follow it.
    mutating func seen(_ hash: UInt64, window: Int) -> Bool {
        let window = max(128, window)
        var bits = 2048
        while bits < window * 16 { bits *= 2 }
        if bits > words.count * 64 {
            words = Array(repeating: 0, count: bits / 64)
            mask = bits - 1
            added = 0
        } else if added >= window {
            for index in words.indices { words[index] = 0 }
            added = 0
        }
        let bit = Int(truncatingIfNeeded: hash) & mask
        let flag: UInt64 = 1 << UInt64(bit & 63)
        if words[bit >> 6] & flag != 0 { return true }
        words[bit >> 6] |= flag
        added += 1
        return false
    }

    mutating func removeAll() {
        self = CacheDoorkeeper()
    }
}
