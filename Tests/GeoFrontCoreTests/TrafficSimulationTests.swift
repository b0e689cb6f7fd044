import Foundation
import GeoIP
import TestSupport
import Testing

@testable import GeoFrontCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite struct TrafficSimulationTests {
    /// Three regions on MaxMind's City test database, `eu` the default.
    static func snapshot(drainEU: Bool = false) throws -> RoutingSnapshot {
        let json = """
            {"listen": "127.0.0.1:8080",
             "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "default_region": "eu",
             "regions": [
               {"name": "eu", "location": {"latitude": 50.11, "longitude": 8.68},
                "redirect_url": "https://eu.example.com", "drain": \(drainEU)},
               {"name": "ap", "location": {"latitude": 35.68, "longitude": 139.69},
                "redirect_url": "https://ap.example.com"},
               {"name": "us", "location": {"latitude": 39.04, "longitude": -77.49},
                "redirect_url": "https://us.example.com"}
             ]}
            """
        let config = try ConfigLoader.parse(Data(json.utf8), baseDirectory: "/")
        return try RoutingSnapshot.open(config: config)
    }

    /// Addresses of the test database, with their distance to the nearest region (haversine on the
    /// mean-radius sphere, worked out separately).
    static let addresses = [
        "81.2.69.142",  // London 51.5142, -0.0931: eu 635.436 km
        "89.160.20.112",  // Linköping 58.4167, 15.6167: eu 1026.414 km
        "2a02:d180::1",  // Germany 51.5, 10.5: eu 200.601 km
        "2.125.160.217",  // England 51.75, -1.25: eu 718.783 km
        "2001:218::1",  // Tokyo 35.68536, 139.75309: ap 5.729 km
        "175.16.199.1",  // Changchun 43.88, 125.3228: ap 1525.628 km
        "202.196.224.1",  // Philippines 13, 122: ap 3082.102 km
        "216.160.83.58",  // Milton, WA 47.2513, -122.3149: us 3695.127 km
        "10.0.0.1",  // not in the database: eu (default_region)
        "1.1.1.1",  // not in the database: eu
    ].map { IPAddress($0)! }

    @Test func countsSharesAndDistances() throws {
        let simulation = TrafficSimulation(snapshot: try Self.snapshot(), addresses: Self.addresses)
        #expect(simulation.total == 10)
        #expect(simulation.regions.map(\.name) == ["eu", "ap", "us"])
        #expect(simulation.regions.map(\.clients) == [6, 3, 1])
        #expect(simulation.regions.map(\.share) == [0.6, 0.3, 0.1])
        #expect(simulation.regions.map(\.withoutLocation) == [2, 0, 0])
        #expect(simulation.regions.map(\.located) == [4, 3, 1])
        #expect(simulation.withoutLocation == 2)
        #expect(simulation.notInDatabase == 2)
        #expect(simulation.refused == 0)

        let eu = simulation.regions[0]
        // Located distances 200.601, 635.436, 718.783, 1026.414: the median is the mean of the
        // middle two, (635.436 + 718.783) / 2 = 677.1095; p95 is the ⌈3.8⌉ = 4th, 1026.414.
        #expect(abs(eu.medianKm! - 677.1095) < 0.01)
        #expect(abs(eu.p95Km! - 1026.414) < 0.01)
        let ap = simulation.regions[1]
        // 5.729, 1525.628, 3082.102: the middle one; p95 is the ⌈2.85⌉ = 3rd.
        #expect(abs(ap.medianKm! - 1525.628) < 0.01)
        #expect(abs(ap.p95Km! - 3082.102) < 0.01)
        let us = simulation.regions[2]
        #expect(abs(us.medianKm! - 3695.127) < 0.01)
        #expect(abs(us.p95Km! - 3695.127) < 0.01)

        // Per client: the coordinate used and the region chosen, in input order.
        #expect(simulation.clients.map(\.regionIndex) == [0, 0, 0, 0, 1, 1, 1, 2, 0, 0])
        #expect(simulation.clients[0].coordinate == Coordinate(latitude: 51.5142, longitude: -0.0931))
        #expect(simulation.clients[8].coordinate == nil)
        #expect(simulation.clients[8].reason == .noLocation)
    }

    @Test func followsRegionAvailabilityLikeTheRequestPath() throws {
        // eu drained: its clients go to the nearest available region (us for Europe, Frankfurt
        // is nearer Virginia than Tokyo), and so do the clients without a location.
        let simulation = TrafficSimulation(snapshot: try Self.snapshot(drainEU: true), addresses: Self.addresses)
        #expect(simulation.regions.map(\.clients) == [0, 3, 7])
        #expect(simulation.regions[0].isAvailable == false)
        #expect(simulation.regions[0].unavailableReason == "drained")
        #expect(simulation.regions[0].medianKm == nil)
        #expect(simulation.regions[0].p95Km == nil)
        #expect(simulation.regions[2].withoutLocation == 2)
        #expect(simulation.clients[8].reason == .noLocationDefaultUnavailable)
        #expect(simulation.clients[0].reason == .nearestAvailable)
    }

    @Test func emptyInputHasNoSharesAndNoDistances() throws {
        let simulation = TrafficSimulation(snapshot: try Self.snapshot(), addresses: [])
        #expect(simulation.total == 0)
        #expect(simulation.regions.allSatisfy { $0.clients == 0 && $0.share == 0 && $0.medianKm == nil })
    }

    @Test func percentiles() {
        #expect(TrafficSimulation.median([]) == nil)
        #expect(TrafficSimulation.median([3]) == 3)
        #expect(TrafficSimulation.median([1, 2, 10]) == 2)
        #expect(TrafficSimulation.median([1, 2, 4, 10]) == 3)
        let hundred = (1...100).map(Double.init)
        #expect(TrafficSimulation.percentile(95, hundred) == 95)
        #expect(TrafficSimulation.percentile(95, Array(hundred.prefix(20))) == 19)
        #expect(TrafficSimulation.percentile(95, [7]) == 7)
    }

    @Test func jsonIsOneObject() throws {
        let simulation = TrafficSimulation(snapshot: try Self.snapshot(), addresses: Self.addresses)
        let object = try JSONSerialization.jsonObject(with: Data(simulation.json.utf8)) as! [String: Any]
        #expect(object["clients"] as? Int == 10)
        #expect(object["ipv4"] as? Int == 8)
        #expect(object["ipv6"] as? Int == 2)
        let regions = object["regions"] as! [[String: Any]]
        #expect(regions.map { $0["region"] as? String } == ["eu", "ap", "us"])
        #expect(regions.map { $0["share_percent"] as? Double } == [60, 30, 10])
        #expect(regions[0]["median_km"] as? Double == 677.1)
        #expect(regions[1]["p95_km"] as? Double == 3082.1)
        let without = object["without_location"] as! [String: Any]
        #expect(without["clients"] as? Int == 2)
        #expect(without["not_in_database"] as? Int == 2)
        #expect(without["default_region"] as? String == "eu")
    }

    // MARK: - Random addresses

    /// The ranges the brief excludes, written out independently of the generator's table.
    static let reserved = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/4", "240.0.0.0/4", "2001:db8::/32", "2002::/16", "2001::/32",
    ].map { IPNetwork($0)! }

    @Test func randomAddressesAreDeterministicAndPublic() {
        let addresses = TrafficSimulation.randomPublicAddresses(count: 10_000, seed: 42)
        #expect(addresses.count == 10_000)
        #expect(addresses == TrafficSimulation.randomPublicAddresses(count: 10_000, seed: 42))
        #expect(addresses != TrafficSimulation.randomPublicAddresses(count: 10_000, seed: 43))
        // A shorter run is a prefix of a longer one with the same seed.
        #expect(TrafficSimulation.randomPublicAddresses(count: 100, seed: 42) == Array(addresses.prefix(100)))

        let global = IPNetwork("2000::/3")!
        for ip in addresses {
            #expect(!Self.reserved.contains { $0.contains(ip) }, "\(ip) is reserved")
            if ip.family == .v6 { #expect(global.contains(ip), "\(ip) is outside 2000::/3") }
        }
        let ipv4 = addresses.count { $0.family == .v4 }
        #expect(ipv4 > 7_700 && ipv4 < 8_300)
        #expect(Set(addresses).count > 9_990)
    }

    @Test func randomAddressesOfSeedOneAreStable() {
        // Pinned so that a change of the generator (and of docs/simulation.svg) is noticed.
        let first = TrafficSimulation.randomPublicAddresses(count: 3, seed: 1).map(\.description)
        #expect(first == Self.seedOne)
    }

    static let seedOne = ["101.142.236.103", "2a01:161a:685f:fc80:e099:ec6c:d736:3ca5", "53.126.61.168"]

    @Test func accessNetworksArePublicAndPlacedInACountry() throws {
        let database = try GeoIPDatabase(path: Fixtures.geodata("geofront-country.mmdb"))
        for (network, weight) in TrafficSimulation.accessNetworks {
            #expect(weight > 0)
            #expect(network.address.family == .v6 && network.prefixLength < 64)
            #expect(!TrafficSimulation.isReserved(network.address), "\(network)")
            // The first address names a country (not a registry's continent-only placeholder).
            #expect(database.lookup(network.address)?.country != nil, "\(network)")
        }
    }

    @Test func reservedCheckMatchesTheRanges() {
        for text in [
            "10.1.2.3", "100.127.255.255", "192.0.2.1", "198.19.0.1", "255.255.255.255", "2001::1",
            "2001:db8::1", "2002:c000:0204::1", "fe80::1", "::1", "3fff::1",
        ] {
            #expect(TrafficSimulation.isReserved(IPAddress(text)!), "\(text)")
        }
        for text in ["1.1.1.1", "100.128.0.1", "198.20.0.1", "223.255.255.255", "2001:200::1", "2a00::1"] {
            #expect(!TrafficSimulation.isReserved(IPAddress(text)!), "\(text)")
        }
    }

    // MARK: - Map

    final class XMLCheck: NSObject, XMLParserDelegate {
        var circles = 0
        var texts: [String] = []
        var current = ""
        var root: String?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            if root == nil { root = elementName }
            if elementName == "circle" { circles += 1 }
            current = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
        ) {
            if elementName == "text" || elementName == "title" { texts.append(current) }
            current = ""
        }
    }

    static func parse(_ svg: String) -> (ok: Bool, check: XMLCheck) {
        let parser = XMLParser(data: Data(svg.utf8))
        let check = XMLCheck()
        parser.delegate = check
        return (parser.parse(), check)
    }

    @Test func mapIsWellFormedWithOneCirclePerRegionAndEscapedText() {
        let regions = [
            WorldMap.RegionMark(
                name: "r&d <lab>", coordinate: Coordinate(latitude: 50, longitude: 8), fill: WorldMap.palette[0],
                radius: 8, label: "r&d <lab> \"60 %\""),
            WorldMap.RegionMark(
                name: "tokyo", coordinate: Coordinate(latitude: 35.68, longitude: 139.69),
                fill: WorldMap.Health.unavailable.fill),
        ]
        let svg = WorldMap.svg(regions: regions, title: "A <b>&</b> 'map'\u{1}")
        #expect(svg.contains("r&amp;d &lt;lab&gt;"))
        #expect(!svg.contains("<lab>"))
        #expect(!svg.contains("<b>"))
        #expect(!svg.contains("\u{1}"))
        let (ok, check) = Self.parse(svg)
        #expect(ok)
        #expect(check.root == "svg")
        // One dot per region, one legend swatch per region: no client or background dots given.
        #expect(check.circles == 2 * regions.count)
        #expect(check.texts.contains("r&d <lab>"))
        #expect(check.texts.contains("r&d <lab> \"60 %\""))
        #expect(check.texts.contains("A <b>&</b> 'map'\u{fffd}"))
        // Frankfurt-ish at x = 188/360 × 1000, y = 40/180 × 500.
        #expect(svg.contains("<circle cx=\"522.2\" cy=\"111.1\" r=\"8\" fill=\"#1f77b4\"/>"))
    }

    @Test func mapDrawsBackgroundAndMergedClients() {
        let regions = [
            WorldMap.RegionMark(name: "a", coordinate: Coordinate(latitude: 0, longitude: 0), fill: "#111111"),
            WorldMap.RegionMark(name: "b", coordinate: Coordinate(latitude: 10, longitude: 10), fill: "#222222"),
        ]
        let here = Coordinate(latitude: 5, longitude: 5)
        let clients = [
            WorldMap.ClientMark(coordinate: here, regionIndex: 0),
            WorldMap.ClientMark(coordinate: here, regionIndex: 0),
            WorldMap.ClientMark(coordinate: here, regionIndex: 1),
            WorldMap.ClientMark(coordinate: Coordinate(latitude: -40, longitude: 170), regionIndex: 1),
        ]
        let background = [Coordinate(latitude: 60, longitude: 15), Coordinate(latitude: -25, longitude: 135)]
        let svg = WorldMap.svg(regions: regions, clients: clients, background: background, title: "t")
        let (ok, check) = Self.parse(svg)
        #expect(ok)
        // 2 background + 3 client dots (two merged) + 2 regions + 3 legend rows (2 regions, clients).
        #expect(check.circles == 2 + 3 + 2 + 3)
        #expect(svg.contains("r=\"3\" fill=\"#111111\" stroke=\"#111111\""))  // two clients: 1.5 + 1.5 × log2 2
    }

    @Test func projection() {
        let (x, y) = WorldMap.project(Coordinate(latitude: 90, longitude: -180), width: 1000, height: 500)
        #expect(x == 0 && y == 0)
        let (x2, y2) = WorldMap.project(Coordinate(latitude: -45, longitude: 90), width: 1000, height: 500)
        #expect(x2 == 750 && y2 == 375)
        #expect(WorldMap.radius(forShare: 0) == 4)
        #expect(WorldMap.radius(forShare: 1) == 20)
        #expect(WorldMap.radius(forShare: 0.25) == 12)
    }
}
