import Foundation
import GeoIP
import TestSupport
import Testing

@testable import GeoFrontCore

@Suite struct DecisionDiffTests {
    static func client(_ ip: String, _ country: String?, _ from: String, _ to: String) -> DecisionDiff.Client {
        DecisionDiff.Client(ip: IPAddress(ip)!, country: country, from: from, to: to)
    }

    @Test func countsOnlyTheClientsThatMove() {
        let clients = [
            Self.client("192.0.2.1", "GB", "eu", "uk"),
            Self.client("192.0.2.2", "GB", "eu", "uk"),
            Self.client("192.0.2.3", "GB", "eu", "uk"),
            Self.client("192.0.2.4", "GB", "eu", "eu"),
            Self.client("192.0.2.5", "FR", "eu", "eu"),
            Self.client("192.0.2.6", "IE", "eu", "uk"),
            Self.client("2001:db8::1", nil, "us", "unavailable"),
            Self.client("192.0.2.7", "US", "us", "us"),
        ]
        let diff = DecisionDiff(clients: clients, regionOrder: ["eu", "us"], examplesPerCell: 2)
        #expect(diff.total == 8)
        #expect(diff.moved == 5)
        #expect(diff.share == 5.0 / 8.0)
        #expect(diff.matrix == ["eu": ["uk": 4], "us": ["unavailable": 1]])
        #expect(diff.countries == ["GB": 3, "IE": 1, "unknown": 1])
        #expect(diff.countryTotals == ["GB": 4, "FR": 1, "IE": 1, "US": 1, "unknown": 1])
        // Examples: the first ones in input order, at most two a cell.
        #expect(diff.examples == ["eu": ["uk": ["192.0.2.1", "192.0.2.2"]], "us": ["unavailable": ["2001:db8::1"]]])
        // The given order first, then the others by name, "unavailable" last.
        #expect(diff.regionOrder == ["eu", "us", "uk", "unavailable"])
        #expect(diff.cells.map { "\($0.from)>\($0.to):\($0.clients)" } == ["eu>uk:4", "us>unavailable:1"])
        #expect(diff.rankedCountries.map { "\($0.code) \($0.moved)/\($0.of)" } == ["GB 3/4", "IE 1/1", "unknown 1/1"])

        let object = try? JSONSerialization.jsonObject(with: Data(diff.json.utf8)) as? [String: Any]
        #expect(object?["total"] as? Int == 8)
        #expect(object?["moved"] as? Int == 5)
        #expect(object?["share"] as? Double == 0.625)
        #expect(object?["matrix"] as? [String: [String: Int]] == ["eu": ["uk": 4], "us": ["unavailable": 1]])
        #expect(object?["countries"] as? [String: Int] == ["GB": 3, "IE": 1, "unknown": 1])
        #expect(
            object?["examples"] as? [String: [String: [String]]]
                == ["eu": ["uk": ["192.0.2.1", "192.0.2.2"]], "us": ["unavailable": ["2001:db8::1"]]])
        // Rows in region order, countries most moved first.
        #expect(diff.json.hasPrefix(#"{"total":8,"moved":5,"share":0.625,"matrix":{"eu":{"uk":4},"us":"#))
        #expect(diff.json.contains(#""countries":{"GB":3,"IE":1,"unknown":1}"#))
    }

    @Test func nobodyMoves() {
        let diff = DecisionDiff(clients: [Self.client("192.0.2.1", "GB", "eu", "eu")])
        #expect(diff.moved == 0)
        #expect(diff.share == 0)
        #expect(diff.matrix.isEmpty)
        #expect(diff.json == #"{"total":1,"moved":0,"share":0.0,"matrix":{},"countries":{},"examples":{}}"#)
        #expect(DecisionDiff(clients: []).share == 0)
    }

    /// Three regions on MaxMind's City test database (`eu` the default), and a candidate.
    static func snapshot(extraRegion: String = "", drainAll: Bool = false, whenAllDown: String = "nearest") throws
        -> RoutingSnapshot
    {
        let json = """
            {"listen": "127.0.0.1:8080",
             "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "default_region": "eu", "when_all_down": "\(whenAllDown)",
             "regions": [
               {"name": "eu", "location": {"latitude": 50.11, "longitude": 8.68},
                "redirect_url": "https://eu.example.com", "drain": \(drainAll)},
               \(extraRegion)
               {"name": "ap", "location": {"latitude": 35.68, "longitude": 139.69},
                "redirect_url": "https://ap.example.com", "drain": \(drainAll)},
               {"name": "us", "location": {"latitude": 39.04, "longitude": -77.49},
                "redirect_url": "https://us.example.com", "drain": \(drainAll)}
             ]}
            """
        return try RoutingSnapshot.open(config: try ConfigLoader.parse(Data(json.utf8), baseDirectory: "/"))
    }

    static let london =
        #"{"name": "uk", "location": {"latitude": 51.51, "longitude": -0.13}, "redirect_url": "https://uk.example.com"},"#

    @Test func addingARegionMovesItsNeighbours() throws {
        let old = try Self.snapshot()
        let new = try old.candidate(try #require(try? Self.snapshot(extraRegion: Self.london).config))
        // The candidate names the same database: it shares the open one.
        #expect(new.database === old.database)
        let addresses = TrafficSimulationTests.addresses
        let diff = DecisionDiff(old: old, new: new, addresses: addresses)
        #expect(diff.total == 10)
        // London and England (GB) go to uk; Linköping and Germany stay nearer eu; the rest stay.
        #expect(diff.matrix == ["eu": ["uk": 2]])
        #expect(diff.examples == ["eu": ["uk": ["81.2.69.142", "2.125.160.217"]]])
        #expect(diff.countries == ["GB": 2])
        #expect(diff.regionOrder == ["eu", "ap", "us", "uk"])
        // The reverse change moves them back.
        #expect(DecisionDiff(old: new, new: old, addresses: addresses).matrix == ["uk": ["eu": 2]])
        #expect(DecisionDiff(old: old, new: old, addresses: addresses).moved == 0)
    }

    @Test func aRefusedAnswerIsTheRegionUnavailable() throws {
        let old = try Self.snapshot()
        let allDrained = try Self.snapshot(drainAll: true, whenAllDown: "unavailable")
        let diff = DecisionDiff(old: old, new: allDrained, addresses: TrafficSimulationTests.addresses)
        #expect(diff.moved == 10)
        #expect(diff.matrix == ["eu": ["unavailable": 6], "ap": ["unavailable": 3], "us": ["unavailable": 1]])
        #expect(diff.countries["unknown"] == 2)  // 10.0.0.1 and 1.1.1.1: not in the database
        #expect(diff.regionOrder.last == "unavailable")
        // Failing open instead (when_all_down: nearest): the nearest region answers, nobody moves.
        let failOpen = try Self.snapshot(drainAll: true)
        #expect(DecisionDiff(old: old, new: failOpen, addresses: TrafficSimulationTests.addresses).moved == 0)
    }
}
