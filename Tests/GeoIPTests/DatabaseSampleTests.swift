import TestSupport
import Testing

@testable import GeoIP

/// ``GeoIPDatabase/sampleAddresses(count:)``: the middles of evenly spaced data networks.
@Suite struct DatabaseSampleTests {
    @Test func middleOfANetwork() {
        #expect(GeoIPDatabase.middle(of: IPAddress("10.0.0.0")!, prefixLength: 8) == IPAddress("10.128.0.0"))
        #expect(GeoIPDatabase.middle(of: IPAddress("10.0.0.4")!, prefixLength: 31) == IPAddress("10.0.0.5"))
        #expect(GeoIPDatabase.middle(of: IPAddress("10.0.0.4")!, prefixLength: 32) == IPAddress("10.0.0.4"))
        #expect(GeoIPDatabase.middle(of: IPAddress("2001:db8::")!, prefixLength: 32) == IPAddress("2001:db8:8000::"))
        #expect(
            GeoIPDatabase.middle(of: IPAddress("2001:db8::")!, prefixLength: 64) == IPAddress("2001:db8::8000:0:0:0"))
        #expect(GeoIPDatabase.middle(of: IPAddress("2001:db8::")!, prefixLength: 127) == IPAddress("2001:db8::1"))
        #expect(GeoIPDatabase.middle(of: IPAddress("2001:db8::")!, prefixLength: 128) == IPAddress("2001:db8::"))
    }

    /// A sample larger than the database has networks: each network once, every address found.
    @Test func everyNetworkOfASmallDatabase() throws {
        let database = try GeoIPDatabase(path: Fixtures.maxmind("GeoLite2-City-Test.mmdb"))
        let networks = try database.dataNetworkCount()
        #expect(networks > 100)
        let all = try database.sampleAddresses(count: networks + 50)
        #expect(all.count == networks)
        #expect(Set(all).count == networks)
        for address in all { #expect(database.lookup(address) != nil, "\(address) not found") }
        // Each address sits in the middle of the network the database answers it with.
        let london = try #require(database.lookup(IPAddress("81.2.69.142")!)).network
        let middle = GeoIPDatabase.middle(of: london.address, prefixLength: london.prefixLength)
        #expect(all.contains(middle))
        // No aliases of the IPv4 tree (::ffff:0:0/96, 2001::/32, 2002::/16) are walked.
        #expect(!all.contains { $0.family == .v6 && ($0.high >> 48 == 0x2002 || $0.high >> 32 == 0x2001_0000) })
        #expect(!all.contains { $0.isIPv4Mapped })
        #expect(all.contains { $0.family == .v4 } && all.contains { $0.family == .v6 })
        #expect(try database.sampleAddresses(count: 0).isEmpty)
    }

    /// On the shipped database: N distinct addresses in address order (IPv4 first), all found,
    /// the same every time.
    @Test func anEvenSpreadOfTheShippedDatabase() throws {
        let database = try GeoIPDatabase(path: Fixtures.geodata("geofront-country.mmdb"))
        let sample = try database.sampleAddresses(count: 500)
        #expect(sample.count == 500)
        #expect(Set(sample).count == 500)
        #expect(try database.sampleAddresses(count: 500) == sample)
        for address in sample { #expect(database.lookup(address) != nil, "\(address) not found") }
        let v4 = sample.filter { $0.family == .v4 }
        #expect(v4.count > 100 && v4.count < 400)
        #expect(sample.prefix(v4.count).allSatisfy { $0.family == .v4 })
        #expect(zip(v4, v4.dropFirst()).allSatisfy { $0.v4Value < $1.v4Value })
        let v6 = sample.dropFirst(v4.count)
        #expect(zip(v6, v6.dropFirst()).allSatisfy { ($0.high, $0.low) < ($1.high, $1.low) })
    }
}
