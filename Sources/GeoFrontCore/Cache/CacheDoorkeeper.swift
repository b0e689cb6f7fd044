/// W-TinyLFU's doorkeeper, for the store's admission (``CacheStore/admits(hash:)``): a blocked
/// Bloom filter of sixteen bits per stored entry (a power of two, 2048 bits at least) that marks
/// two bits of one 64-bit word per hash, cleared after as many new hashes as the store holds
/// entries went in. "Seen" therefore means "asked for within about the last store's worth of new
/// URLs", wrong by a false positive now and then: a URL asked for once let in, which only costs
/// what storing it costs, as before there was a doorkeeper. With two bits in one word that is
/// under 2 % of new URLs just before a clear and about 0.5 % on average (one bit per hash let in
/// 2.5 % in the cache bench, each at a stored miss's cost). A bit table rather than a hash table:
/// 2 bytes per entry (400 KB for 200,000 entries), one word read per request, small enough to
/// stay near the CPU.
struct CacheDoorkeeper {
    private var words: [UInt64] = []
    private var wordMask = 0
    private var added = 0

    /// Whether `hash` was seen since the last clear; it is seen from now on either way. `window`
    /// is the store's entry count: the table's size and how often it is cleared follow it.
    mutating func seen(_ hash: UInt64, window: Int) -> Bool {
        let window = max(128, window)
        if window * 16 > words.count * 64 {
            // The store grew past the table: a new one, the next power of two.
            var bits = 2048
            while bits < window * 16 { bits *= 2 }
            words = Array(repeating: 0, count: bits / 64)
            wordMask = bits / 64 - 1
            added = 0
        } else if added >= window {
            for index in words.indices { words[index] = 0 }
            added = 0
        }
        // The word from the hash's high half, the two bits from its low twelve bits.
        let word = Int(truncatingIfNeeded: hash >> 32) & wordMask
        let flags: UInt64 = (1 << (hash & 63)) | (1 << ((hash >> 6) & 63))
        if words[word] & flags == flags { return true }
        words[word] |= flags
        added += 1
        return false
    }

    mutating func removeAll() {
        self = CacheDoorkeeper()
    }
}
