import GeoIP
import TestSupport
import Testing

@testable import GeoFrontCore

/// The per-loop lookup memo answers exactly what the database answers, hit or miss, and forgets
/// everything when another database is asked.
@Suite struct LookupCacheTests {
    static let path = Fixtures.maxmind("GeoLite2-City-Test.mmdb")

    @Test func answersAsTheDatabaseDoesThroughCollisionsAndRepeats() throws {
        let database = try GeoIPDatabase(path: Self.path)
        var cache = LookupCache(capacity: 8)  // tiny: most of these collide
        var addresses = ["81.2.69.142", "89.160.20.112", "2.125.160.216", "216.160.83.56", "2001:480::1", "10.0.0.1"]
            .map { IPAddress($0)! }
        addresses += (0..<64).map { IPAddress(v4: 0x5102_4500 + UInt32($0)) }
        for round in 0..<3 {
            for address in addresses {
                let direct = database.locateForRouting(address)
                // Twice: a miss (the entry held another address), then a hit.
                for _ in 0..<2 {
                    let cached = cache.locate(address, in: database)
                    #expect(cached.0 == direct.0 && cached.1 == direct.1, "round \(round): \(address)")
                }
            }
        }
        #expect(cache.hits >= 3 * addresses.count)
        #expect(cache.misses >= addresses.count)
    }

    @Test func anotherDatabaseEmptiesTheMemo() throws {
        let first = try GeoIPDatabase(path: Self.path)
        let second = try GeoIPDatabase(path: Self.path)
        var cache = LookupCache()
        let address = IPAddress("81.2.69.142")!
        _ = cache.locate(address, in: first)
        _ = cache.locate(address, in: first)
        #expect(cache.hits == 1)
        _ = cache.locate(address, in: second)
        #expect(cache.hits == 1 && cache.misses == 2)
    }
}
