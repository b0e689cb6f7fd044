import GeoIP
import Testing

@testable import GeoFrontCore

@Suite struct RegionSelectorTests {
    static func region(_ name: String, _ latitude: Double, _ longitude: Double) -> RegionConfig {
        RegionConfig(
            name: name, location: Coordinate(latitude: latitude, longitude: longitude),
            redirectURL: try! RedirectURL.parse("https://\(name).example.com").get())
    }

    static let world = [
        region("us-east", 39.04, -77.49),
        region("eu-central", 50.11, 8.68),
        region("ap-northeast", 35.68, 139.69),
        region("fiji-east", -17.0, 179.9),
        region("north-pole", 89.9, 0),
        region("south-pole", -89.9, 0),
    ]

    static func entries(_ regions: [RegionConfig], unavailable: Set<String> = []) -> [RegionEntry] {
        regions.map { RegionEntry(config: $0, isAvailable: !unavailable.contains($0.name)) }
    }

    static func choose(
        _ latitude: Double?, _ longitude: Double?, in regions: [RegionConfig] = world, unavailable: Set<String> = [],
        defaultIndex: Int = 1
    ) -> (String, RegionChoice) {
        let entries = entries(regions, unavailable: unavailable)
        let location = latitude.map { Coordinate(latitude: $0, longitude: longitude!) }
        let choice = RegionSelector.select(for: location, regions: entries, defaultIndex: defaultIndex)
        return (entries[choice.regionIndex].name, choice)
    }

    @Test(arguments: [
        (40.71, -74.01, "us-east"),  // New York
        (48.86, 2.35, "eu-central"),  // Paris
        (37.57, 126.98, "ap-northeast"),  // Seoul
        (-17.0, -179.9, "fiji-east"),  // across the antimeridian: 179.9°W is next to 179.9°E
        (-16.5, 179.95, "fiji-east"),
        (90.0, 120.0, "north-pole"),  // at the pole every longitude is the same point
        (89.95, -170.0, "north-pole"),
        (-90.0, 45.0, "south-pole"),
    ])
    func nearestRegion(latitude: Double, longitude: Double, expected: String) {
        let (name, choice) = Self.choose(latitude, longitude)
        #expect(name == expected)
        #expect(choice.reason == .nearest)
    }

    @Test func antimeridianDistanceIsShort() {
        let distance = GreatCircle.distanceKm(
            Coordinate(latitude: -17.0, longitude: 179.9), Coordinate(latitude: -17.0, longitude: -179.9))
        #expect(distance > 21 && distance < 22)
    }

    @Test func knownDistances() {
        // London Heathrow → New York JFK: about 5,540 km on the mean-radius sphere.
        let distance = GreatCircle.distanceKm(
            Coordinate(latitude: 51.4700, longitude: -0.4543), Coordinate(latitude: 40.6413, longitude: -73.7781))
        #expect(abs(distance - 5539.7) < 1.0)
        #expect(
            GreatCircle.distanceKm(Coordinate(latitude: 0, longitude: 0), Coordinate(latitude: 0, longitude: 180))
                == .pi * GreatCircle.earthRadiusKm)
    }

    @Test func exactTieGoesToTheRegionListedFirst() {
        let twins = [Self.region("first", 10, 10), Self.region("second", 10, 10), Self.region("far", -50, -50)]
        #expect(Self.choose(20, 20, in: twins).0 == "first")
        let swapped = [twins[1], twins[0], twins[2]]
        #expect(Self.choose(20, 20, in: swapped).0 == "second")
        // Equidistant on either side of the client: the first listed wins too.
        let sides = [Self.region("west", 0, -10), Self.region("east", 0, 10)]
        #expect(Self.choose(0, 0, in: sides).0 == "west")
        #expect(Self.choose(0, 0, in: [sides[1], sides[0]]).0 == "east")
    }

    @Test func noLocationGoesToTheDefaultRegion() {
        let (name, choice) = Self.choose(nil, nil, defaultIndex: 2)
        #expect(name == "ap-northeast")
        #expect(choice.reason == .noLocation)
        #expect(choice.distanceKm == nil)
    }

    @Test func unavailableRegionsAreSkipped() {
        let (name, choice) = Self.choose(40.71, -74.01, in: Array(Self.world.prefix(3)), unavailable: ["us-east"])
        #expect(name == "eu-central")
        #expect(choice.reason == .nearestAvailable)
        #expect(choice.distanceKm! > 6000)
    }

    @Test func unavailableDefaultFallsBackToTheAvailableRegionNearestToIt() {
        let (name, choice) = Self.choose(nil, nil, unavailable: ["eu-central"], defaultIndex: 1)
        #expect(name == "north-pole")  // Frankfurt is nearer the pole than Ashburn
        #expect(choice.reason == .noLocationDefaultUnavailable)
    }

    @Test func allUnavailableStillAnswersWithTheNearest() {
        let everything = Set(Self.world.map(\.name))
        let (name, choice) = Self.choose(48.86, 2.35, unavailable: everything)
        #expect(name == "eu-central")
        #expect(choice.reason == .allUnavailable)
    }
}
