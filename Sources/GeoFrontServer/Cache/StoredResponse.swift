import GeoFrontCore
import NIOCore

/// One response in the cache: its stored head, its whole body, and when it was fetched. Answers
/// are written from it without parsing (``CachedAnswers``); the body is shared, never copied per
/// answer above ``CachedAnswers/inlineBody`` bytes.
/// Immutable and shared: a lookup hands out a reference, a 304's update makes a new one.
final class StoredResponse: CacheStorable {
    let head: StoredHead
    let body: ByteBuffer
    /// Freshness lifetime in seconds (RFC 9111 §4.2.1), fixed when stored or updated.
    let lifetime: Int
    /// The age calculation's inputs (§4.2.3): `Age`, `Date`, request and response times.
    let age: Freshness.AgeInputs
    /// The request's values of ``StoredHead/varyNames`` (the secondary key), for collapsed requests.
    let secondaryKey: String
    /// `max-age`-style freshness can be judged without the request's directives: the response
    /// has no `no-cache` (the hit path's shortcut).
    let plainlyReusable: Bool

    init(head: StoredHead, body: ByteBuffer, lifetime: Int, age: Freshness.AgeInputs, secondaryKey: String) {
        self.head = head
        self.body = body
        self.lifetime = lifetime
        self.age = age
        self.secondaryKey = secondaryKey
        plainlyReusable = !head.headers.cacheControl.requiresRevalidation
    }

    var bodyBytes: Int { body.readableBytes }
    var tags: [String] { head.tags }

    /// The fixed cost of an entry beyond its buffers and strings: the object, the buffers' storage
    /// objects, the key's bytes and URL, the store's node, its slots in three hash tables (kept at
    /// most half full) and the ghost queue, allocator rounding. Measured, not guessed: with 1 KiB
    /// objects the process held 2.5 KB per entry (jemalloc, a full store under a miss-only load),
    /// so the bound holds for the real heap.
    static let overheadBytes = 1152

    func accountedBytes(key: CacheKey) -> Int {
        var total = Self.overheadBytes + key.bytes.count * 3 + body.capacity + head.wire.capacity
        for tag in head.tags { total += tag.utf8.count * 2 + 32 }
        total += (head.etag?.utf8.count ?? 0) + (head.lastModified?.utf8.count ?? 0) + secondaryKey.utf8.count
        for name in head.varyNames { total += name.utf8.count + 32 }
        return total
    }

    func currentAge(now: Int) -> Int { age.currentAge(now: now) }

    /// Seconds of freshness left at `now` (negative when stale): `Cache-Status`'s `ttl`.
    func ttl(now: Int) -> Int { lifetime - currentAge(now: now) }
}
