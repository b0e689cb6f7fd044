import Dispatch
import Testing

@testable import GeoFrontCore

/// The cache key's normalisation and the bounded S3-FIFO store: the hard memory bound, refusals,
/// scan resistance, purges, statistics and concurrent use.
@Suite struct CacheStoreTests {
    static func key(_ path: String, host: String = "example.com", region: String? = nil) -> CacheKey {
        CacheKey(scheme: "https", host: host, path: path, query: nil, policy: .all, region: region)
    }

    static func entry(body: Int, tags: [String] = []) -> CacheEntry {
        CacheEntry(
            status: 200, headers: [CacheHeaderField(name: "Content-Type", value: "text/plain")],
            body: [UInt8](repeating: 0x61, count: body), requestTime: 1, responseTime: 2, tags: tags,
            validators: CacheValidators(etag: "\"v1\""))
    }

    // MARK: Keys

    @Test func hostCaseAndDefaultPortNormalise() {
        let plain = CacheKey(scheme: "https", host: "example.com", path: "/a", query: nil, policy: .all)
        for host in ["EXAMPLE.com", "example.com:443", "Example.COM:0443", "example.com:"] {
            #expect(CacheKey(scheme: "HTTPS", host: host, path: "/a", query: nil, policy: .all) == plain, "\(host)")
        }
        #expect(plain.url == "https://example.com/a")
        #expect(CacheKey(scheme: "https", host: "example.com:8443", path: "/a", query: nil, policy: .all) != plain)
        #expect(CacheKey.normalisedHost("Example.com:80", scheme: "http") == "example.com")
        #expect(CacheKey.normalisedHost("example.com:443", scheme: "http") == "example.com:443")
        #expect(CacheKey.normalisedHost("[::1]:443", scheme: "https") == "[::1]")
        #expect(CacheKey.normalisedHost("[::1]", scheme: "https") == "[::1]")
        #expect(CacheKey.normalisedHost("[::1]:8080", scheme: "https") == "[::1]:8080")
        #expect(CacheKey.normalisedURL(scheme: "http", host: "a", path: "", query: nil, policy: .all) == "http://a/")
    }

    @Test func queryPolicies() {
        func url(_ query: String?, _ policy: CacheQueryPolicy) -> String {
            CacheKey.normalisedURL(scheme: "https", host: "h", path: "/p", query: query, policy: policy)
        }
        #expect(url("b=2&a=1", .all) == "https://h/p?b=2&a=1")
        #expect(url("b=2&a=1", .all) != url("a=1&b=2", .all))
        #expect(url("b=2&a=1", .none) == "https://h/p")
        #expect(url(nil, .all) == "https://h/p")
        let allow = CacheQueryPolicy.allow(["b", "a"])
        #expect(url("utm=x&b=2&a=1", allow) == "https://h/p?a=1&b=2")
        #expect(url("a=1&b=2&utm=y", allow) == url("b=2&utm=x&a=1", allow))
        #expect(url("a=2&a=1&a", allow) == "https://h/p?a&a=1&a=2")
        #expect(url("utm=x", allow) == "https://h/p")
    }

    @Test func varySecondaryKeysAndRegion() {
        func key(_ headers: [(name: String, value: String)], vary: [String] = ["Accept-Encoding, Accept-Language"])
            -> CacheKey
        {
            CacheKey(
                scheme: "https", host: "h", path: "/", query: nil, policy: .all, varyNames: vary,
                requestHeaders: headers)
        }
        let gzip = key([("accept-encoding", "gzip"), ("Accept-Language", "en")])
        #expect(gzip == key([("ACCEPT-LANGUAGE", "en"), ("Accept-Encoding", " gzip ")]))
        #expect(
            gzip
                == key(
                    [("Accept-Language", "en"), ("Accept-Encoding", "gzip")],
                    vary: ["accept-language", "ACCEPT-ENCODING"]))
        #expect(gzip != key([("Accept-Encoding", "br"), ("Accept-Language", "en")]))
        #expect(gzip.secondary == "accept-encoding=gzip\naccept-language=en")
        // Several lines of one field join as one list.
        let joined = key([("Accept-Encoding", "gzip"), ("Accept-Encoding", "br"), ("Accept-Language", "en")])
        #expect(joined == key([("Accept-Encoding", "gzip, br"), ("Accept-Language", "en")]))
        #expect(joined != gzip)
        // No Vary: the request's headers do not matter.
        #expect(key([("Accept-Encoding", "gzip")], vary: []) == key([], vary: []))
        #expect(key([], vary: []).secondary.isEmpty)
        // Region: part of the key when given.
        #expect(Self.key("/a", region: "eu") != Self.key("/a", region: "us"))
        #expect(Self.key("/a", region: "eu") != Self.key("/a"))
        #expect(Self.key("/a", region: "eu") == Self.key("/a", region: "eu"))
        #expect(Self.key("/a", region: "eu").url == Self.key("/a").url)
        #expect(Self.key("/a", region: "eu").hash != Self.key("/a", region: "us").hash)
    }

    // MARK: Store

    @Test func insertLookupRemove() {
        let store = CacheStore<CacheEntry>(memoryMB: 1, maxObjectKB: 64)
        let key = Self.key("/a")
        #expect(store.lookup(key) == nil)
        #expect(store.insert(key, Self.entry(body: 100)) == .stored(evicted: 0))
        #expect(store.lookup(key) == Self.entry(body: 100))
        #expect(store.lookup(Self.key("/b")) == nil)
        // Replacing keeps one entry, with the new accounting.
        store.insert(key, Self.entry(body: 300))
        #expect(store.lookup(key)?.body.count == 300)
        #expect(store.statistics.entries == 1)
        #expect(store.statistics.bytes == Self.entry(body: 300).accountedBytes(key: key))
        #expect(store.remove(key))
        #expect(!store.remove(key))
        #expect(store.lookup(key) == nil)
        let stats = store.statistics
        #expect(stats.entries == 0 && stats.bytes == 0)
        #expect(stats.hits == 2 && stats.misses == 3)
    }

    @Test func objectsOverTheMaximumAreRefused() {
        let store = CacheStore<CacheEntry>(memoryMB: 1, maxObjectKB: 4)
        let key = Self.key("/big")
        #expect(store.insert(key, Self.entry(body: 4096)) == .stored(evicted: 0))
        #expect(store.insert(key, Self.entry(body: 4097)) == .tooLarge)
        #expect(store.lookup(key) == nil)  // the stale smaller version went too
        // Larger than the whole store, even if under max_object_kb.
        let tiny = CacheStore<CacheEntry>(memoryBytes: 1000, maxObjectBytes: 10_000)
        #expect(tiny.insert(key, Self.entry(body: 900)) == .tooLarge)
        #expect(tiny.statistics.bytes == 0)
    }

    @Test func theMemoryBoundHoldsAfterEveryInsert() {
        let bound = 256 * 1024
        let store = CacheStore<CacheEntry>(memoryBytes: bound, maxObjectBytes: 32 * 1024)
        var generator = SystemRandomNumberGenerator()
        var evictions = 0
        for index in 0..<10_000 {
            let size = [0, 10, 500, 4000, 20_000, 32 * 1024][index % 6] + Int.random(in: 0..<64, using: &generator)
            let key = Self.key("/\(index % 3000)")
            switch store.insert(key, Self.entry(body: size, tags: ["t\(index % 7)"])) {
            case .stored(let evicted): evictions += evicted
            case .tooLarge: #expect(size > 32 * 1024)
            }
            if index % 5 == 0 { _ = store.lookup(Self.key("/\(index % 97)")) }
            let stats = store.statistics
            #expect(stats.bytes <= bound, "insert \(index)")
            #expect(stats.bytes >= 0)
        }
        #expect(store.statistics.evictions == evictions)
        #expect(evictions > 0)
    }

    @Test func aFrequentlyHitEntrySurvivesAScan() {
        // Room for about 100 entries of 1 KB; hot entries are hit, then 1,000 one-hit entries go by.
        // Under FIFO or LRU (no hits during the scan) the hot entries would be evicted after 100.
        let store = CacheStore<CacheEntry>(memoryBytes: 100 * (1024 + 300), maxObjectBytes: 4096)
        let hot = (0..<5).map { Self.key("/hot\($0)") }
        for key in hot { store.insert(key, Self.entry(body: 1024)) }
        for _ in 0..<3 { for key in hot { _ = store.lookup(key) } }
        for index in 0..<1000 {
            store.insert(Self.key("/scan\(index)"), Self.entry(body: 1024))
            if index % 50 == 49 { for key in hot { #expect(store.contains(key), "after \(index)") } }
        }
        for key in hot { #expect(store.lookup(key) != nil) }
        #expect(!store.contains(Self.key("/scan0")))
        #expect(store.statistics.evictions > 800)
    }

    @Test func aGhostHitEntersMainAndOutlivesOneHitEntries() {
        let store = CacheStore<CacheEntry>(memoryBytes: 20 * (1024 + 300), maxObjectBytes: 4096)
        let returning = Self.key("/again")
        store.insert(returning, Self.entry(body: 1024))
        for index in 0..<40 { store.insert(Self.key("/one\(index)"), Self.entry(body: 1024)) }
        #expect(!store.contains(returning))  // evicted from small, remembered in the ghost
        store.insert(returning, Self.entry(body: 1024))  // re-enters main
        for index in 40..<55 { store.insert(Self.key("/one\(index)"), Self.entry(body: 1024)) }
        #expect(store.contains(returning))
    }

    @Test func aNearlyFullStoreAdmitsANewURLAtItsSecondRequest() {
        let store = CacheStore<CacheEntry>(memoryBytes: 20 * (1024 + 300), maxObjectBytes: 4096)
        // With room, everything is admitted, every time.
        for index in 0..<17 {
            #expect(store.admits(hash: Self.key("/fill\(index)").hash))
            store.insert(Self.key("/fill\(index)"), Self.entry(body: 1024))
        }
        #expect(store.admits(hash: Self.key("/roomy").hash))
        store.insert(Self.key("/fill17"), Self.entry(body: 1024))
        store.insert(Self.key("/fill18"), Self.entry(body: 1024))
        #expect(store.statistics.bytes > store.memoryBytes * 9 / 10)
        // Nearly full: the first request is refused, the second admitted; other URLs are not.
        let new = Self.key("/new").hash
        #expect(!store.admits(hash: new))
        #expect(store.admits(hash: new))
        #expect(!store.admits(hash: Self.key("/other").hash))
        #expect(store.statistics.notAdmitted == 2)
        // The doorkeeper forgets after a store's worth of new URLs.
        for index in 0..<400 { _ = store.admits(hash: Self.key("/once\(index)").hash) }
        let remembered = (0..<400).filter { store.admits(hash: Self.key("/once\($0)").hash) }.count
        #expect(remembered < 100, "\(remembered) of 400 still remembered")
        // Emptied, the store takes everything again.
        store.removeAll()
        #expect(store.admits(hash: Self.key("/later").hash))
    }

    @Test func theDoorkeeperSeldomTakesANewURLForASeenOne() {
        // Half a window of URLs seen, then as many new ones: few of those may pass for seen.
        var doorkeeper = CacheDoorkeeper()
        var generator = SystemRandomNumberGenerator()
        let seen = (0..<5_000).map { _ in UInt64.random(in: .min ... .max, using: &generator) }
        var firstTimes = 0
        for hash in seen where !doorkeeper.seen(hash, window: 10_000) { firstTimes += 1 }
        #expect(firstTimes > 4_900)  // new to it, but for the odd false positive
        var again = 0
        for hash in seen.prefix(100) where doorkeeper.seen(hash, window: 10_000) { again += 1 }
        #expect(again == 100)
        var falsePositives = 0
        for _ in 0..<5_000 where doorkeeper.seen(UInt64.random(in: .min ... .max, using: &generator), window: 10_000) {
            falsePositives += 1
        }
        #expect(falsePositives < 75, "\(falsePositives) of 5000 new URLs taken for seen")
    }

    @Test func purgeByURLRemovesEveryVariant() {
        let store = CacheStore<CacheEntry>(memoryMB: 1, maxObjectKB: 64)
        let variants = ["gzip", "br", "identity"].map {
            CacheKey(
                scheme: "https", host: "Example.com:443", path: "/page", query: "x=1", policy: .all,
                varyNames: ["Accept-Encoding"], requestHeaders: [("Accept-Encoding", $0)])
        }
        let regional = CacheKey(url: variants[0].url, region: "eu")
        let other = CacheKey(scheme: "https", host: "example.com", path: "/page", query: "x=2", policy: .all)
        for key in variants + [regional, other] { store.insert(key, Self.entry(body: 10)) }
        #expect(store.statistics.entries == 5)
        #expect(store.purge(url: "https://example.com/page?x=1") == 4)
        for key in variants + [regional] { #expect(!store.contains(key)) }
        #expect(store.contains(other))
        #expect(store.purge(url: "https://example.com/page?x=1") == 0)
        #expect(store.statistics.bytes == Self.entry(body: 10).accountedBytes(key: other))
    }

    @Test func purgeByPrefixAndTag() {
        let store = CacheStore<CacheEntry>(memoryMB: 1, maxObjectKB: 64)
        store.insert(Self.key("/img/a.png"), Self.entry(body: 10, tags: ["images", "a"]))
        store.insert(Self.key("/img/b.png"), Self.entry(body: 10, tags: ["images"]))
        store.insert(Self.key("/index.html"), Self.entry(body: 10, tags: ["a"]))
        store.insert(Self.key("/img/c.png", host: "other.com"), Self.entry(body: 10, tags: ["images"]))
        #expect(store.purge(urlPrefix: "https://example.com/img/") == 2)
        #expect(store.contains(Self.key("/index.html")))
        #expect(store.contains(Self.key("/img/c.png", host: "other.com")))
        #expect(store.purge(tag: "images") == 1)
        #expect(store.purge(tag: "images") == 0)
        #expect(store.purge(tag: "a") == 1)
        #expect(store.statistics.entries == 0 && store.statistics.bytes == 0)
        // The tag index follows replacement: the old tags no longer reach the key.
        store.insert(Self.key("/x"), Self.entry(body: 1, tags: ["old"]))
        store.insert(Self.key("/x"), Self.entry(body: 1, tags: ["new"]))
        #expect(store.purge(tag: "old") == 0)
        #expect(store.purge(tag: "new") == 1)
    }

    @Test func removeAllAndStatistics() {
        let store = CacheStore<CacheEntry>(memoryMB: 1, maxObjectKB: 64)
        for index in 0..<10 { store.insert(Self.key("/\(index)"), Self.entry(body: 100)) }
        for index in 0..<15 { _ = store.lookup(Self.key("/\(index)")) }
        var stats = store.statistics
        #expect(stats.entries == 10 && stats.hits == 10 && stats.misses == 5 && stats.evictions == 0)
        #expect(stats.bytes == 10 * Self.entry(body: 100).accountedBytes(key: Self.key("/0")))
        #expect(stats.capacityBytes == 1024 * 1024)
        store.removeAll()
        stats = store.statistics
        #expect(stats.entries == 0 && stats.bytes == 0 && stats.hits == 10)
        #expect(store.lookup(Self.key("/0")) == nil)
        store.insert(Self.key("/0"), Self.entry(body: 100))
        #expect(store.lookup(Self.key("/0")) != nil)
    }

    @Test func concurrentInsertsAndLookupsKeepTheBound() {
        let bound = 128 * 1024
        let store = CacheStore<CacheEntry>(memoryBytes: bound, maxObjectBytes: 16 * 1024)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in 0..<2000 {
                let key = Self.key("/\(worker)/\(index % 300)")
                if index % 3 == 0 {
                    _ = store.lookup(key)
                } else {
                    store.insert(key, Self.entry(body: (index * 37 + worker * 101) % (20 * 1024), tags: ["w\(worker)"]))
                }
                if index % 500 == 0 { store.purge(tag: "w\((worker + 1) % 8)") }
                #expect(store.statistics.bytes <= bound)
            }
        }
        let stats = store.statistics
        #expect(stats.bytes <= bound)
        #expect(stats.entries > 0)
        #expect(stats.hits + stats.misses == 8 * 667)
    }
}
