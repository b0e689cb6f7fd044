import Synchronization

/// The cache's bounded in-memory store: thread-safe, with a hard bound on the accounted bytes.
///
/// `memoryBytes` bounds the sum of every entry's ``CacheStorable/accountedBytes(key:)`` (for ``CacheEntry``:
/// body, header lines, tags, validators, key bytes and a fixed overhead per entry); an insert evicts until
/// the new entry fits, so the bound holds after every operation. Entries above `maxObjectBytes` (or the
/// whole bound) are refused and the caller streams them uncached.
///
/// Eviction is S3-FIFO (Yang et al., SOSP 2023): new entries enter a small FIFO (~10 % of the bytes);
/// those hit at least once while there move to the main FIFO, the others leave and their hash goes to
/// a ghost FIFO (at most as many hashes as there are entries, 64 at least), and an entry whose hash is
/// still in the ghost enters main directly. Main is a FIFO with a 2-bit hit counter that gives an entry
/// another lap (counter minus one) instead of evicting it.
/// Unlike LRU, a hit only bumps a counter (no list surgery under the lock) and a scan of one-hit objects
/// is filtered out by the small queue instead of flushing the hot set. It matches W-TinyLFU's hit ratio
/// on web traces without a count-min sketch, its periodic ageing, or a second LRU to keep in order.
public final class CacheStore<Entry: CacheStorable>: Sendable {
    /// What an insert did.
    public enum InsertResult: Sendable, Equatable {
        /// Stored, after evicting this many entries.
        case stored(evicted: Int)
        /// Refused: larger than `max_object_kb` (or than the whole store).
        case tooLarge
    }

    public struct Statistics: Sendable, Equatable {
        public var bytes: Int
        public var entries: Int
        public var hits: Int
        public var misses: Int
        public var evictions: Int
        public var capacityBytes: Int
    }

    public let memoryBytes: Int
    public let maxObjectBytes: Int
    private let state: Mutex<State<Entry>>

    /// `memoryMB` is `memory_mb` (the hard bound), `maxObjectKB` is `max_object_kb`.
    public convenience init(memoryMB: Int, maxObjectKB: Int) {
        self.init(memoryBytes: memoryMB * 1024 * 1024, maxObjectBytes: maxObjectKB * 1024)
    }

    public init(memoryBytes: Int, maxObjectBytes: Int) {
        self.memoryBytes = max(0, memoryBytes)
        self.maxObjectBytes = max(0, maxObjectBytes)
        state = Mutex(State(capacity: self.memoryBytes))
    }

    /// The entry under `key`, counting a hit (and the entry's frequency) or a miss.
    public func lookup(_ key: CacheKey) -> Entry? {
        state.withLock { $0.lookup(key) }
    }

    /// The entry whose key has exactly these `bytes` (``CacheKey/bytes``) and `hash` (their FNV-1a 64),
    /// counting a hit; nil without counting a miss (the caller then looks up by ``CacheKey``, which
    /// also finds a key whose hash another key's took). For the hit path: no key is built.
    public func lookup(hash: UInt64, bytes: UnsafeRawBufferPointer) -> Entry? {
        state.withLock { $0.lookup(hash: hash, bytes: bytes) }
    }

    /// Whether `key` is stored, without counting a hit or a miss.
    public func contains(_ key: CacheKey) -> Bool {
        state.withLock { $0.slots[key] != nil }
    }

    /// Stores `entry` under `key`, replacing what was there, evicting until it fits.
    @discardableResult
    public func insert(_ key: CacheKey, _ entry: Entry) -> InsertResult {
        let size = entry.accountedBytes(key: key)  // outside the lock
        guard entry.bodyBytes <= maxObjectBytes, size <= memoryBytes else {
            state.withLock { _ = $0.remove(key) }  // a stale smaller version must not linger
            return .tooLarge
        }
        return state.withLock { .stored(evicted: $0.insert(key, entry, size: size)) }
    }

    /// Removes the entry under `key`; whether there was one.
    @discardableResult
    public func remove(_ key: CacheKey) -> Bool {
        state.withLock { $0.remove(key) }
    }

    /// Removes every entry for this normalised URL: all `Vary` variants and regions. Returns the count.
    @discardableResult
    public func purge(url: String) -> Int {
        state.withLock { state in
            let plain = state.remove(CacheKey(url: url)) ? 1 : 0
            guard let keys = state.byURL[url] else { return plain }
            return keys.reduce(plain) { $0 + (state.remove($1) ? 1 : 0) }
        }
    }

    /// Removes every entry whose normalised URL starts with `prefix` (scans the URLs). Returns the count.
    @discardableResult
    public func purge(urlPrefix prefix: String) -> Int {
        state.withLock { state in
            let keys = state.slots.keys.filter { $0.url.hasPrefix(prefix) }
            return keys.reduce(0) { $0 + (state.remove($1) ? 1 : 0) }
        }
    }

    /// Removes every entry stored with `tag`. Returns the count.
    @discardableResult
    public func purge(tag: String) -> Int {
        state.withLock { state in
            guard let keys = state.byTag[tag] else { return 0 }
            return keys.reduce(0) { $0 + (state.remove($1) ? 1 : 0) }
        }
    }

    /// Empties the store (the ghost queue too); the hit, miss and eviction counters stay.
    public func removeAll() {
        state.withLock { $0.removeAll() }
    }

    public var statistics: Statistics {
        state.withLock {
            Statistics(
                bytes: $0.bytes, entries: $0.slots.count, hits: $0.hits, misses: $0.misses,
                evictions: $0.evictions, capacityBytes: memoryBytes)
        }
    }
}

// MARK: - State

/// The two FIFOs are intrusive doubly linked lists over `nodes` (indices, a free list for reuse), so
/// an entry leaves either queue in O(1) on remove or purge. Head = newest, tail = oldest.
private struct State<Entry: CacheStorable>: ~Copyable {
    enum Queue { case small, main }

    struct Node {
        var key: CacheKey
        var entry: Entry
        var size: Int
        var frequency: UInt8  // 0...3
        var queue: Queue
        var previous: Int  // towards the head; -1 at the head
        var next: Int  // towards the tail; -1 at the tail
    }

    struct List {
        var head = -1
        var tail = -1
        var bytes = 0
    }

    let capacity: Int
    var nodes: [Node?] = []
    var free: [Int] = []
    var slots: [CacheKey: Int] = [:]
    /// The slot of the last key stored with each hash (``CacheStore/lookup(hash:bytes:)``).
    var byHash: [UInt64: Int] = [:]
    /// Keys with a region or a `Vary` secondary key, by URL (a plain key is found from its URL).
    var byURL: [String: Set<CacheKey>] = [:]
    var byTag: [String: Set<CacheKey>] = [:]
    var small = List()
    var main = List()
    var ghost = Ghost()
    var bytes = 0
    var hits = 0
    var misses = 0
    var evictions = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    var smallTarget: Int { capacity / 10 }

    mutating func lookup(_ key: CacheKey) -> Entry? {
        guard let index = slots[key] else {
            misses += 1
            return nil
        }
        hits += 1
        nodes[index]!.frequency = min(nodes[index]!.frequency + 1, 3)
        return nodes[index]!.entry
    }

    mutating func lookup(hash: UInt64, bytes: UnsafeRawBufferPointer) -> Entry? {
        guard let index = byHash[hash],
            nodes[index]!.key.bytes.withUnsafeBytes({ $0.elementsEqual(bytes) })
        else { return nil }
        hits += 1
        nodes[index]!.frequency = min(nodes[index]!.frequency + 1, 3)
        return nodes[index]!.entry
    }

    /// Returns the number of entries evicted to make room.
    mutating func insert(_ key: CacheKey, _ entry: Entry, size: Int) -> Int {
        remove(key)
        var evicted = 0
        while bytes + size > capacity, !slots.isEmpty {
            if evictOne() { evicted += 1 }
        }
        evictions += evicted
        let queue: Queue = ghost.remove(key.hash) ? .main : .small
        let node = Node(key: key, entry: entry, size: size, frequency: 0, queue: queue, previous: -1, next: -1)
        let index: Int
        if let reused = free.popLast() {
            index = reused
            nodes[index] = node
        } else {
            index = nodes.count
            nodes.append(node)
        }
        pushHead(index)
        slots[key] = index
        byHash[key.hash] = index
        if !key.isPlain { byURL[key.url, default: []].insert(key) }
        for tag in entry.tags { byTag[tag, default: []].insert(key) }
        bytes += size
        ghost.limit = max(64, slots.count)
        return evicted
    }

    /// One S3-FIFO step: evicts from small when it is over its share (or main is empty), else from
    /// main. Returns whether an entry left the store (a step may only move or re-queue one).
    mutating func evictOne() -> Bool {
        if small.bytes > smallTarget || main.tail < 0 {
            let index = small.tail
            let node = nodes[index]!
            unlink(index)
            if node.frequency > 0 {
                nodes[index]!.queue = .main
                nodes[index]!.frequency = 0
                pushHead(index)
                return false
            }
            ghost.insert(node.key.hash)
            drop(index)
            return true
        }
        let index = main.tail
        unlink(index)
        if nodes[index]!.frequency > 0 {
            nodes[index]!.frequency -= 1
            pushHead(index)
            return false
        }
        drop(index)
        return true
    }

    @discardableResult
    mutating func remove(_ key: CacheKey) -> Bool {
        guard let index = slots[key] else { return false }
        unlink(index)
        drop(index)
        return true
    }

    mutating func removeAll() {
        nodes = []
        free = []
        slots = [:]
        byHash = [:]
        byURL = [:]
        byTag = [:]
        small = List()
        main = List()
        ghost = Ghost()
        bytes = 0
    }

    /// Forgets an unlinked node: the indexes, the bytes, the slot.
    private mutating func drop(_ index: Int) {
        let node = nodes[index]!
        slots[node.key] = nil
        if byHash[node.key.hash] == index { byHash[node.key.hash] = nil }
        if !node.key.isPlain, byURL[node.key.url]?.remove(node.key) != nil, byURL[node.key.url]!.isEmpty {
            byURL[node.key.url] = nil
        }
        for tag in node.entry.tags where byTag[tag]?.remove(node.key) != nil {
            if byTag[tag]!.isEmpty { byTag[tag] = nil }
        }
        bytes -= node.size
        nodes[index] = nil
        free.append(index)
    }

    private mutating func pushHead(_ index: Int) {
        let queue = nodes[index]!.queue
        var list = queue == .small ? small : main
        nodes[index]!.previous = -1
        nodes[index]!.next = list.head
        if list.head >= 0 { nodes[list.head]!.previous = index }
        list.head = index
        if list.tail < 0 { list.tail = index }
        list.bytes += nodes[index]!.size
        if queue == .small { small = list } else { main = list }
    }

    private mutating func unlink(_ index: Int) {
        let node = nodes[index]!
        var list = node.queue == .small ? small : main
        if node.previous >= 0 { nodes[node.previous]!.next = node.next } else { list.head = node.next }
        if node.next >= 0 { nodes[node.next]!.previous = node.previous } else { list.tail = node.previous }
        list.bytes -= node.size
        nodes[index]!.previous = -1
        nodes[index]!.next = -1
        if node.queue == .small { small = list } else { main = list }
    }
}

/// The ghost FIFO: hashes of entries evicted from the small queue, at most `limit` of them.
private struct Ghost {
    var order: [UInt64] = []
    var start = 0
    var counts: [UInt64: Int] = [:]
    var limit = 64

    mutating func insert(_ hash: UInt64) {
        order.append(hash)
        counts[hash, default: 0] += 1
        while order.count - start > limit { popOldest() }
        if start > 1024, start * 2 > order.count {  // compact the consumed prefix
            order.removeFirst(start)
            start = 0
        }
    }

    /// Whether `hash` was in the ghost; it leaves it either way. Its stale copies stay in `order`: if
    /// the hash comes back to the ghost, the oldest stale copy may age it out early, which only costs
    /// that entry a trip through the small queue.
    mutating func remove(_ hash: UInt64) -> Bool {
        counts.removeValue(forKey: hash) != nil
    }

    private mutating func popOldest() {
        let hash = order[start]
        start += 1
        if let count = counts[hash] {
            counts[hash] = count > 1 ? count - 1 : nil
        }
    }
}
