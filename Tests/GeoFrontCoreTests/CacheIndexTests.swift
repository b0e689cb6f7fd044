import Testing

@testable import GeoFrontCore

/// The store's parts: the open-addressed index against a dictionary under random inserts and
/// removals (with colliding tags forced by a fixed seed and equal hashes), the ghost's window,
/// and the queues' stale tokens staying bounded.
@Suite struct CacheIndexTests {
    @Test func theIndexAgreesWithADictionaryThroughGrowthAndBackwardShifts() {
        var index = CacheIndex(seed: 0)
        var reference: [Int: UInt64] = [:]  // node → hash
        var generator = SystemRandomNumberGenerator()
        var nextNode = 0
        for step in 0..<20_000 {
            if reference.isEmpty || Int.random(in: 0..<3, using: &generator) > 0 {
                // Few distinct hashes, so that runs of equal homes and equal tags form.
                let hash = UInt64.random(in: 0..<3000, using: &generator) &* 0x1_0000_0001
                index.insert(hash, node: nextNode)
                reference[nextNode] = hash
                nextNode += 1
            } else {
                let (node, hash) = reference.randomElement(using: &generator)!
                index.remove(hash, node: node)
                reference[node] = nil
            }
            if step % 500 == 0 || step == 19_999 {
                #expect(index.count == reference.count, "step \(step)")
                for (node, hash) in reference {
                    #expect(index.find(hash) { $0 == node } == node, "step \(step): node \(node)")
                }
                #expect(index.find(UInt64.max) { _ in true } == nil || reference.values.contains(UInt64.max))
            }
        }
        for (node, hash) in reference { index.remove(hash, node: node) }
        #expect(index.count == 0)
        #expect(index.find(0) { _ in true } == nil)
    }

    @Test func theGhostRemembersTheLastLimitHashes() {
        var ghost = CacheGhost()
        ghost.limit = 100
        let removedFromEmpty = ghost.remove(1)
        #expect(!removedFromEmpty)
        for hash in UInt64(1)...300 { ghost.insert(hash &* 0x9e37_79b9) }
        // The last 100 are in (a full bucket may lose its oldest: allow a few), older ones are not.
        var recent = 0
        for hash in UInt64(201)...300 where ghost.remove(hash &* 0x9e37_79b9) { recent += 1 }
        #expect(recent >= 95)
        var old = 0
        for hash in UInt64(1)...200 where ghost.remove(hash &* 0x9e37_79b9) { old += 1 }
        #expect(old == 0)
        // Removal takes a hash out.
        ghost.insert(7)
        let first = ghost.remove(7)
        let second = ghost.remove(7)
        #expect(first && !second)
        // Growing keeps the live hashes.
        ghost.insert(42)
        ghost.limit = 10_000
        let afterGrowth = ghost.remove(42)
        #expect(afterGrowth)
    }

    @Test func replacementsWithoutEvictionKeepTheQueuesBounded() {
        let store = CacheStore<CacheEntry>(memoryMB: 64, maxObjectKB: 64)
        let key = CacheStoreTests.key("/same")
        for _ in 0..<100_000 { store.insert(key, CacheStoreTests.entry(body: 10)) }
        #expect(store.statistics.entries == 1)
        #expect(store.queuedTokens <= 2 * 1 + 1024 + 1)
        // And purges of many keys leave the queues as small.
        for index in 0..<5000 { store.insert(CacheStoreTests.key("/\(index)"), CacheStoreTests.entry(body: 10)) }
        #expect(store.purge(urlPrefix: "https://example.com/") == 5001)
        store.insert(key, CacheStoreTests.entry(body: 10))
        for _ in 0..<2000 { store.insert(key, CacheStoreTests.entry(body: 10)) }
        #expect(store.queuedTokens <= 2 * 1 + 1024 + 1)
    }
}
