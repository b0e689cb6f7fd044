import Foundation
import TestSupport
import Testing

@testable import GeoIP

/// Known answers from MaxMind's public test databases.
@Suite struct GeoIPDatabaseTests {
    static let city = try! GeoIPDatabase(path: Fixtures.maxmind("GeoLite2-City-Test.mmdb"))

    /// Every network in GeoLite2-City-Test.json: the first and last address of each must come
    /// back with the JSON's coordinates, accuracy, country, continent and network (where a more
    /// specific network in the file covers an address, that one is expected instead).
    @Test func cityDatabaseMatchesItsSourceJSON() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.maxmind("GeoLite2-City-Test.json")))
        let entries = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        var expectations: [(IPNetwork, [String: Any])] = []
        for entry in entries {
            for (network, record) in entry {
                expectations.append((try #require(IPNetwork(network)), try #require(record as? [String: Any])))
            }
        }
        #expect(expectations.count == 242)
        var checked = 0
        for (network, _) in expectations {
            for address in [network.address, last(of: network)] {
                let (expectedNetwork, record) = expectations.filter { $0.0.contains(address) }
                    .max { $0.0.prefixLength < $1.0.prefixLength }!
                let found = try #require(Self.city.lookup(address), "no record for \(address)")
                let location = record["location"] as! [String: Any]
                #expect(found.coordinate?.latitude == location["latitude"] as? Double, "\(address)")
                #expect(found.coordinate?.longitude == location["longitude"] as? Double, "\(address)")
                #expect(found.coordinateSource == .database)
                #expect(found.accuracyRadiusKm.map(Int.init) == location["accuracy_radius"] as? Int, "\(address)")
                let country =
                    (record["country"] as? [String: Any])?["iso_code"] as? String
                    ?? (record["registered_country"] as? [String: Any])?["iso_code"] as? String
                #expect(found.country?.description == country, "\(address)")
                let continent = (record["continent"] as? [String: Any])?["code"] as? String
                #expect(found.continent?.description == continent, "\(address)")
                #expect(found.network == expectedNetwork, "\(address): \(found.network) vs \(expectedNetwork)")
                checked += 1
            }
        }
        #expect(checked == 484)
    }

    @Test func londonExampleInAllThreeAddressForms() throws {
        for text in ["81.2.69.142", "::ffff:81.2.69.142"] {
            let found = try #require(Self.city.lookup(IPAddress(text)!))
            #expect(found.country?.description == "GB")
            #expect(found.continent?.description == "EU")
            #expect(found.coordinate == Coordinate(latitude: 51.5142, longitude: -0.0931))
            #expect(found.network.description == "81.2.69.142/31")
        }
        let v6 = try #require(Self.city.lookup(IPAddress("2001:218::1")!))
        #expect(v6.country?.description == "JP")
        #expect(v6.network.address.family == .v6)
    }

    @Test func coordinateFastPathAgreesWithFullLookup() {
        for text in ["81.2.69.142", "2001:218::1", "::ffff:81.2.69.142", "216.160.83.56", "10.0.0.1", "::1"] {
            let ip = IPAddress(text)!
            #expect(Self.city.coordinate(of: ip) == Self.city.lookup(ip)?.coordinate, "\(text)")
        }
    }

    @Test func unknownPrivateAndReservedAddressesAreNotFound() {
        for text in ["10.0.0.1", "127.0.0.1", "192.168.1.1", "::1", "fe80::1", "8.8.8.8"] {
            #expect(Self.city.lookup(IPAddress(text)!) == nil, "\(text)")
        }
    }

    @Test func countryDatabaseFallsBackToCountryCentroids() throws {
        let centroids = try CountryCentroids(contentsOf: Fixtures.geodata("country-centroids.json"))
        let country = try GeoIPDatabase(path: Fixtures.maxmind("GeoLite2-Country-Test.mmdb"), centroids: centroids)
        let found = try #require(country.lookup(IPAddress("81.2.69.142")!))
        #expect(found.country?.description == "GB")
        #expect(found.coordinateSource == .countryCentroid)
        #expect(found.coordinate == centroids[TwoLetterCode("GB")!])
        #expect(found.accuracyRadiusKm == nil)
        #expect(country.coordinate(of: IPAddress("81.2.69.142")!) == found.coordinate)

        let withoutTable = try GeoIPDatabase(path: Fixtures.maxmind("GeoLite2-Country-Test.mmdb"))
        let bare = try #require(withoutTable.lookup(IPAddress("81.2.69.142")!))
        #expect(bare.country?.description == "GB")
        #expect(bare.coordinate == nil)
        #expect(withoutTable.coordinate(of: IPAddress("81.2.69.142")!) == nil)
    }

    @Test func shippedDatabaseOpensAndAnswers() throws {
        let centroids = try CountryCentroids(contentsOf: Fixtures.geodata("country-centroids.json"))
        let shipped = try GeoIPDatabase(path: Fixtures.geodata("geofront-country.mmdb"), centroids: centroids)
        #expect(shipped.metadata.databaseType == "GeoFront-Country")
        #expect(shipped.lookup(IPAddress("89.160.20.112")!)?.country?.description == "SE")
        #expect(shipped.lookup(IPAddress("2001:4860:4860::8888")!)?.country?.description == "US")
        #expect(shipped.lookup(IPAddress("10.1.2.3")!) == nil)
    }

    /// Valid MaxMind DB files whose records carry no location (like an ASN database) are refused
    /// with a reason, instead of silently sending every client to the default region.
    @Test(arguments: [
        "MaxMind-DB-test-ipv4-24.mmdb", "MaxMind-DB-test-mixed-24.mmdb", "MaxMind-DB-no-ipv4-search-tree.mmdb",
    ])
    func databasesWithoutLocationsAreRefused(name: String) {
        #expect {
            try GeoIPDatabase(path: Fixtures.maxmind(name))
        } throws: { error in
            let error = error as! GeoIPError
            return error.kind == .unexpectedLayout && error.reason.contains("not a GeoIP City or Country database")
        }
    }

    @Test func metadataDescribesTheDatabase() {
        #expect(Self.city.metadata.databaseType == "GeoLite2-City")
        #expect(Self.city.metadata.ipVersion == 6)
        #expect(Self.city.metadata.buildDate.count == 10)
    }

    private func last(of network: IPNetwork) -> IPAddress {
        let (maskHigh, maskLow) = IPNetwork.mask(prefixLength: network.prefixLength, family: network.address.family)
        switch network.address.family {
        case .v4: return IPAddress(v4: UInt32(truncatingIfNeeded: network.address.low | ~maskLow & 0xffff_ffff))
        case .v6: return IPAddress(v6: network.address.high | ~maskHigh, network.address.low | ~maskLow)
        }
    }
}
