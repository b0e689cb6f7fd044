import Foundation
import GeoIP
import TestSupport
import Testing

@testable import GeoFrontCore

/// Traffic policies and bias, decided with MaxMind's City test database: each `match` field,
/// first match wins, strict and non-strict fallbacks, and bias against a hand-computed boundary.
@Suite struct TrafficPolicyTests {
    /// Six regions: eu-west (London), eu-central (Frankfurt), eu-north (Stockholm), us-east
    /// (Ashburn), us-west (Seattle), ap-northeast (Tokyo).
    static func snapshot(
        policies: String, drain: Set<String> = [], bias: [String: Int] = [:], whenAllDown: String = "nearest",
        capacity: [String: String] = [:]
    ) throws -> RoutingSnapshot {
        let places: [(String, Double, Double)] = [
            ("eu-west", 51.51, -0.13), ("eu-central", 50.11, 8.68), ("eu-north", 59.33, 18.07),
            ("us-east", 39.04, -77.49), ("us-west", 47.61, -122.33), ("ap-northeast", 35.68, 139.69),
        ]
        let regions = places.map { name, latitude, longitude in
            """
            {"name": "\(name)", "location": {"latitude": \(latitude), "longitude": \(longitude)},
             "redirect_url": "https://\(name).example.com", "drain": \(drain.contains(name)), "bias": \(bias[name] ?? 0),
             "capacity": \(capacity[name] ?? "null")}
            """
        }
        let json = """
            {"listen": "127.0.0.1:8080", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "default_region": "eu-central", "when_all_down": "\(whenAllDown)",
             "regions": [\(regions.joined(separator: ","))], "policies": \(policies)}
            """
        return try RoutingSnapshot.open(config: ConfigLoader.parse(Data(json.utf8), baseDirectory: "/"))
    }

    static let london = IPAddress("81.2.69.142")!  // GB, EU
    static let linkoping = IPAddress("89.160.20.112")!  // SE, EU
    static let milton = IPAddress("216.160.83.58")!  // US, NA
    static let changchun = IPAddress("175.16.199.1")!  // CN, AS
    static let europeWithoutCountry = IPAddress("2a02:d500::1")!  // continent EU, no country
    static let unknown = IPAddress("10.1.2.3")!  // in no record

    func region(_ snapshot: RoutingSnapshot, _ address: IPAddress) -> String {
        snapshot.regions[snapshot.decide(address: address).regionIndex].name
    }

    @Test func withoutPoliciesTheNearestRegionAnswers() throws {
        let snapshot = try Self.snapshot(policies: "[]")
        #expect(region(snapshot, Self.london) == "eu-west")
        #expect(region(snapshot, Self.linkoping) == "eu-north")
        #expect(region(snapshot, Self.milton) == "us-west")
        #expect(region(snapshot, Self.changchun) == "ap-northeast")
    }

    @Test func countriesLimitTheRegions() throws {
        let snapshot = try Self.snapshot(
            policies: #"[{"name": "se-us", "match": {"countries": ["SE"]}, "regions": ["us-east", "eu-west"]}]"#)
        let decision = snapshot.decide(address: Self.linkoping)
        #expect(snapshot.regions[decision.regionIndex].name == "eu-west")
        #expect(decision.policy == 0 && decision.reasons.policy == .applied)
        // Others are not affected.
        #expect(region(snapshot, Self.milton) == "us-west")
        #expect(snapshot.decide(address: Self.milton).policy == nil)
    }

    @Test func continentsMatchEvenARecordWithoutACountry() throws {
        let snapshot = try Self.snapshot(
            policies: #"[{"name": "eu", "match": {"continents": ["EU"]}, "regions": ["eu-central"]}]"#)
        #expect(region(snapshot, Self.london) == "eu-central")
        #expect(region(snapshot, Self.linkoping) == "eu-central")
        #expect(region(snapshot, Self.europeWithoutCountry) == "eu-central")
        #expect(region(snapshot, Self.changchun) == "ap-northeast")
    }

    @Test func cidrsMatchAddressesInNoRecordToo() throws {
        let snapshot = try Self.snapshot(
            policies: """
                [{"name": "partner", "match": {"cidrs": ["216.160.83.56/30"]}, "regions": ["ap-northeast"]},
                 {"name": "private", "match": {"cidrs": ["10.0.0.0/8"]}, "regions": ["us-west"]},
                 {"name": "cn", "match": {"countries": ["CN"]}, "regions": ["us-west"]}]
                """)
        #expect(region(snapshot, Self.milton) == "ap-northeast")
        #expect(region(snapshot, Self.unknown) == "us-west")
        #expect(region(snapshot, IPAddress("216.160.83.61")!) == "us-west")  // same record, outside the /30
        // A client in no record matches no country policy: only cidrs.
        #expect(region(snapshot, IPAddress("192.0.2.1")!) == "eu-central")
        #expect(snapshot.decide(address: IPAddress("192.0.2.1")!).policy == nil)
    }

    @Test func theFirstMatchingPolicyInFileOrderApplies() throws {
        let snapshot = try Self.snapshot(
            policies: """
                [{"name": "gb", "match": {"countries": ["GB"]}, "regions": ["eu-north"]},
                 {"name": "eu", "match": {"continents": ["EU"], "countries": ["US"]}, "regions": ["eu-central"]},
                 {"name": "late-gb", "match": {"cidrs": ["81.2.69.0/24"]}, "regions": ["us-east"]}]
                """)
        #expect(region(snapshot, Self.london) == "eu-north")
        #expect(region(snapshot, Self.linkoping) == "eu-central")
        // Any listed field may hold: US matches "eu" by country.
        #expect(region(snapshot, Self.milton) == "eu-central")
        #expect(snapshot.decide(address: Self.milton).policy == 1)
    }

    @Test func aStrictPolicyAnswers503RatherThanLeaveItsRegions() throws {
        let residency =
            #"[{"name": "eu-residency", "match": {"continents": ["EU"]}, "regions": ["eu-central", "eu-north"], "strict": true}]"#
        let snapshot = try Self.snapshot(policies: residency, drain: ["eu-central", "eu-north"])
        let decision = snapshot.decide(address: Self.linkoping)
        #expect(decision.action == .unavailable)
        #expect(decision.reasons.region == .policyRefused && decision.reasons.policy == .refused)
        #expect(snapshot.explain(Self.linkoping).reasonText.contains("strict policy eu-residency"))
        // One of them back: it answers, even though eu-west is nearer to London.
        let one = try Self.snapshot(policies: residency, drain: ["eu-central"])
        #expect(region(one, Self.london) == "eu-north")
        #expect(one.decide(address: Self.london).action == .redirect)
        // Clients the policy does not match are untouched.
        #expect(snapshot.decide(address: Self.milton).action == .redirect)
    }

    @Test func aPolicyThatIsNotStrictFallsBackToTheGlobalRule() throws {
        let snapshot = try Self.snapshot(
            policies: #"[{"name": "eu", "match": {"continents": ["EU"]}, "regions": ["eu-central", "eu-north"]}]"#,
            drain: ["eu-central", "eu-north"])
        let decision = snapshot.decide(address: Self.linkoping)
        #expect(snapshot.regions[decision.regionIndex].name == "eu-west")
        #expect(decision.action == .redirect && decision.reasons.policy == .fellBack)
    }

    @Test func clientsWithoutALocationGoToTheDefaultRegionIfThePolicyAllowsIt() throws {
        let snapshot = try Self.snapshot(
            policies: """
                [{"name": "private", "match": {"cidrs": ["10.0.0.0/8"]}, "regions": ["us-east", "us-west"]},
                 {"name": "other", "match": {"cidrs": ["192.0.2.0/24"]}, "regions": ["eu-central", "us-east"]}]
                """)
        // The default region (eu-central) is not allowed: the allowed region nearest to it.
        #expect(region(snapshot, Self.unknown) == "us-east")
        #expect(region(snapshot, IPAddress("192.0.2.7")!) == "eu-central")
    }

    /// Two regions on the equator 20° apart, A at 0° with bias +50: A's biased distance is
    /// d_A × 0.5, so the boundary is where 0.5 × d_A = d_B = 20° − d_A, at d_A = 40/3 ≈ 13.33°
    /// of longitude (on the equator, distance is proportional to the longitude difference).
    /// Without bias it is at 10°.
    @Test func biasMovesTheBoundaryWhereHandComputationPutsIt() {
        let regions = [
            RegionEntry(
                config: RegionConfig(name: "a", location: Coordinate(latitude: 0, longitude: 0), redirectURL: nil)),
            RegionEntry(
                config: RegionConfig(name: "b", location: Coordinate(latitude: 0, longitude: 20), redirectURL: nil)),
        ]
        func choose(_ longitude: Double, bias: [Double]?) -> Int {
            RegionSelector.select(
                for: Coordinate(latitude: 0, longitude: longitude), regions: regions, in: 0..<2, defaultIndex: 0,
                defaultPoint: regions[0].point,
                rules: RegionSelector.Rules(
                    policy: nil, policies: PolicyTable([], regionNames: []), ordinals: [0, 1], bias: bias)
            ).choice.regionIndex
        }
        let biased = [0.5, 1.0]
        #expect(choose(9.9, bias: nil) == 0)
        #expect(choose(10.1, bias: nil) == 1)
        #expect(choose(13.2, bias: biased) == 0)
        #expect(choose(13.45, bias: biased) == 1)
        // The reported distance is the true one.
        let choice = RegionSelector.select(
            for: Coordinate(latitude: 0, longitude: 12), regions: regions, in: 0..<2, defaultIndex: 0,
            defaultPoint: regions[0].point,
            rules: RegionSelector.Rules(
                policy: nil, policies: PolicyTable([], regionNames: []), ordinals: [0, 1], bias: biased)
        ).choice
        #expect(
            abs(
                (choice.distanceKm ?? 0)
                    - GreatCircle.distanceKm(
                        Coordinate(latitude: 0, longitude: 12), Coordinate(latitude: 0, longitude: 0))) < 0.001)
    }

    /// Linköping is 173 km from Stockholm and 1,048 km from Frankfurt: a bias of +90 on
    /// eu-central makes that 105 km, so it wins; +80 (210 km) does not.
    @Test func biasInTheConfigurationSteersRealClients() throws {
        #expect(region(try Self.snapshot(policies: "[]", bias: ["eu-central": 80]), Self.linkoping) == "eu-north")
        let biased = try Self.snapshot(policies: "[]", bias: ["eu-central": 90])
        let decision = biased.decide(address: Self.linkoping)
        #expect(biased.regions[decision.regionIndex].name == "eu-central")
        #expect(abs((decision.distanceKm ?? 0) - 1048) < 30)
    }

    @Test func asnsMatchRecordsThatCarryOne() {
        let table = PolicyTable(
            [
                TrafficPolicy(name: "a", countries: [TwoLetterCode("DE")!], regions: ["x"]),
                TrafficPolicy(name: "b", asns: [64500], regions: ["y"]),
            ], regionNames: ["x", "y"])
        let any = IPAddress("192.0.2.1")!
        #expect(table.needsASN && table.needsFacts)
        #expect(table.policy(for: any, facts: .init(asn: 64500)) == 1)
        #expect(table.policy(for: any, facts: .init(country: TwoLetterCode("DE"), asn: 64500)) == 0)
        #expect(table.policy(for: any, facts: .init(asn: 64501)) == nil)
        #expect(table.allows(1, region: 1) && !table.allows(1, region: 0))
    }

    @Test func badPoliciesAreRefusedWithTheirPath() {
        func messages(_ policies: String) -> [String] {
            do {
                _ = try Self.snapshot(policies: policies)
                return []
            } catch let error as ConfigError {
                return error.issues.map(\.description)
            } catch {
                return ["\(error)"]
            }
        }
        #expect(
            messages(#"[{"name": "x", "match": {"countries": ["de", "XX1"]}, "regions": ["eu-wset"]}]"#) == [
                #"policies[0].match.countries[0]: "de" is not an ISO 3166-1 alpha-2 country code such as "DE""#,
                #"policies[0].match.countries[1]: "XX1" is not an ISO 3166-1 alpha-2 country code such as "DE""#,
                #"policies[0].regions[0]: "eu-wset" is not a region (did you mean "eu-west"?)"#,
            ])
        #expect(
            messages(#"[{"name": "x", "match": {}, "regions": []}]"#) == [
                "policies[0].match: needs at least one of countries, continents, cidrs or asns",
                "policies[0].regions: needs at least one region",
            ])
        #expect(
            messages(
                #"[{"name": "x", "match": {"continents": ["EA"], "asns": [0]}, "regions": ["eu-west"], "strict": 1}]"#
            )
            .count == 3)
    }

    /// Capacity: a full region passes new requests to the next choice by the same rules; a strict
    /// policy's clients spill only inside its regions, and when all of them are full the first
    /// choice takes the request anyway (capacity steers, it never refuses).
    @Test func aFullRegionSpillsToTheNextChoiceWithinThePolicy() throws {
        let full = #"{"max_active_requests": 1}"#
        let json = """
            [{"name": "eu", "match": {"continents": ["EU"]}, "regions": ["eu-north", "eu-central"], "strict": true}]
            """
        let snapshot = try Self.snapshot(
            policies: json, capacity: ["eu-north": full, "eu-central": full, "eu-west": full])
        let load = try #require(snapshot.regionLoad)
        let ordinal = { (name: String) in snapshot.config.regions.firstIndex { $0.name == name }! }
        #expect(region(snapshot, Self.linkoping) == "eu-north")
        load.inFlight(ordinal("eu-north"), 1)
        let spilled = snapshot.decide(address: Self.linkoping)
        #expect(snapshot.regions[spilled.regionIndex].name == "eu-central")
        #expect(spilled.spilledFrom.map { snapshot.regions[$0].name } == "eu-north")
        load.inFlight(ordinal("eu-central"), 1)
        // Both allowed regions full: the first choice anyway, never eu-west.
        let anyway = snapshot.decide(address: Self.linkoping)
        #expect(snapshot.regions[anyway.regionIndex].name == "eu-north" && anyway.spilledFrom == nil)
        // A client no policy matches spills by distance alone: Milton's us-west is not full.
        #expect(region(snapshot, Self.milton) == "us-west")
        // London has no policy here (GB is in EU: it has one); eu-west full → eu-north? No: the
        // policy allows only eu-north and eu-central, both full: eu-central is London's first
        // choice among them.
        #expect(region(snapshot, Self.london) == "eu-central")
        load.inFlight(ordinal("eu-north"), -1)
        #expect(region(snapshot, Self.linkoping) == "eu-north")
    }

    /// `asns` with a database whose records carry ASNs (Tests/Fixtures/geofront-asn-test.mmdb,
    /// made by scripts/geodata/build-asn-fixture.pl): the top-level key of an ASN database and
    /// the `traits` key of an enterprise one, IPv4 and IPv6.
    @Test func asnsMatchRecordsOfADatabaseWithASNs() throws {
        let json = """
            {"listen": "127.0.0.1:8080", "geoip": {"database": "\(Fixtures.fixture("geofront-asn-test.mmdb"))"},
             "default_region": "eu-central",
             "regions": [
               {"name": "eu-central", "location": {"latitude": 50.11, "longitude": 8.68}, "redirect_url": "https://eu.example.com"},
               {"name": "us-east", "location": {"latitude": 39.04, "longitude": -77.49}, "redirect_url": "https://us.example.com"},
               {"name": "ap-northeast", "location": {"latitude": 35.68, "longitude": 139.69}, "redirect_url": "https://ap.example.com"}
             ],
             "policies": [
               {"name": "as64500", "match": {"asns": [64500]}, "regions": ["ap-northeast"]},
               {"name": "as64501-64502", "match": {"asns": [64501, 64502]}, "regions": ["us-east"]}
             ]}
            """
        let snapshot = try RoutingSnapshot.open(config: ConfigLoader.parse(Data(json.utf8), baseDirectory: "/"))
        #expect(region(snapshot, IPAddress("192.0.2.10")!) == "ap-northeast")  // DE, AS 64500
        #expect(region(snapshot, IPAddress("198.51.100.5")!) == "ap-northeast")  // US, AS 64500
        #expect(region(snapshot, IPAddress("192.0.2.200")!) == "us-east")  // DE, traits AS 64501
        #expect(region(snapshot, IPAddress("2001:db8:1::5")!) == "us-east")  // GB, AS 64502
        #expect(region(snapshot, IPAddress("203.0.113.5")!) == "ap-northeast")  // JP, no ASN: nearest
        #expect(snapshot.decide(address: IPAddress("203.0.113.5")!).policy == nil)
        // The lookup cache gives the same answers.
        var cache = LookupCache(capacity: 16)
        for _ in 0..<2 {
            let decision = snapshot.decide(
                client: ClientIP(address: IPAddress("192.0.2.200")!, source: .peer), cache: &cache)
            #expect(snapshot.regions[decision.regionIndex].name == "us-east")
        }
    }

    /// `max_rps`: once a region has been sent its requests for the current second, the next one
    /// spills; a new second starts a new count.
    @Test func maxRPSSpillsForTheRestOfTheSecond() throws {
        let snapshot = try Self.snapshot(policies: "[]", capacity: ["eu-north": #"{"max_rps": 2}"#])
        let load = try #require(snapshot.regionLoad)
        let north = snapshot.config.regions.firstIndex { $0.name == "eu-north" }!
        // Within one second (retried if the clock turns a second in the middle).
        var checked = false
        for _ in 0..<5 where !checked {
            let second = RegionLoad.currentSecond
            let fresh = try Self.snapshot(policies: "[]", capacity: ["eu-north": #"{"max_rps": 2}"#])
            let freshLoad = try #require(fresh.regionLoad)
            freshLoad.sent(north, second: second)
            let first = region(fresh, Self.linkoping)
            freshLoad.sent(north, second: second)
            let third = region(fresh, Self.linkoping)
            guard RegionLoad.currentSecond == second else { continue }
            #expect(first == "eu-north")
            #expect(third == "eu-central")
            #expect(fresh.decide(address: Self.linkoping).spilledFrom.map { fresh.regions[$0].name } == "eu-north")
            #expect(freshLoad.isFull(north, second: second) && !freshLoad.isFull(north, second: second + 1))
            checked = true
        }
        #expect(checked)
        // Another second: room again.
        load.sent(north, second: 1)
        load.sent(north, second: 1)
        #expect(load.isFull(north, second: 1))
        load.sent(north, second: 2)
        #expect(!load.isFull(north, second: 2))
    }
}
