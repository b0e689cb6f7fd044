import Foundation
import GeoIP
import TestSupport
import Testing

@testable import GeoFrontCore

/// The one routing decision: every input form ends in the same steps, and the chain of reasons
/// says what each step found.
@Suite struct RoutingDecisionTests {
    static func snapshot(
        database: String = Fixtures.maxmind("GeoLite2-City-Test.mmdb"), centroids: Bool = false,
        drain: Set<String> = [], whenAllDown: String = "nearest", usMode: String = "redirect"
    ) throws -> RoutingSnapshot {
        let centroidsKey = centroids ? #", "country_centroids": "\#(Fixtures.geodata("country-centroids.json"))""# : ""
        let usTarget =
            usMode == "proxy" ? #""upstreams": ["127.0.0.1:9"]"# : #""redirect_url": "https://us.example.com""#
        let json = """
            {"listen": "127.0.0.1:8080",
             "geoip": {"database": "\(database)"\(centroidsKey)},
             "trusted_proxies": ["10.0.0.0/8"], "default_region": "eu", "when_all_down": "\(whenAllDown)",
             "regions": [
               {"name": "eu", "location": {"latitude": 50.11, "longitude": 8.68},
                "redirect_url": "https://eu.example.com", "drain": \(drain.contains("eu"))},
               {"name": "ap", "location": {"latitude": 35.68, "longitude": 139.69},
                "redirect_url": "https://ap.example.com", "drain": \(drain.contains("ap"))},
               {"name": "us", "location": {"latitude": 39.04, "longitude": -77.49}, "mode": "\(usMode)",
                \(usTarget), "drain": \(drain.contains("us"))}
             ]}
            """
        return try RoutingSnapshot.open(config: ConfigLoader.parse(Data(json.utf8), baseDirectory: "/"))
    }

    static let london = IPAddress("81.2.69.142")!
    static let tokyo = IPAddress("2001:218::1")!
    static let milton = IPAddress("216.160.83.58")!
    static let trustedProxy = IPAddress("10.1.2.3")!

    private func name(_ decision: RoutingDecision, _ snapshot: RoutingSnapshot) -> String {
        snapshot.regions[decision.regionIndex].name
    }

    @Test func nearestRegionWithItsReasons() throws {
        let snapshot = try Self.snapshot()
        let decision = snapshot.decide(address: Self.london)
        #expect(name(decision, snapshot) == "eu")
        #expect(decision.action == .redirect)
        #expect(decision.client == Self.london)
        #expect(decision.reasons == .init(client: .peer, lookup: .located, region: .nearest))
        #expect(abs((decision.distanceKm ?? 0) - 635.436) < 0.01)
        #expect(decision.coordinate != nil)
        #expect(name(snapshot.decide(address: Self.tokyo), snapshot) == "ap")
    }

    @Test func unavailableRegionsAndWhenAllDown() throws {
        let drained = try Self.snapshot(drain: ["eu"])
        let moved = drained.decide(address: Self.london)
        #expect(name(moved, drained) == "us")
        #expect(moved.reasons.region == .nearestAvailable)

        let allDownOpen = try Self.snapshot(drain: ["eu", "ap", "us"])
        let failOpen = allDownOpen.decide(address: Self.london)
        #expect(name(failOpen, allDownOpen) == "eu")
        #expect(failOpen.reasons.region == .allUnavailable)
        #expect(failOpen.action == .redirect)

        let allDownClosed = try Self.snapshot(drain: ["eu", "ap", "us"], whenAllDown: "unavailable")
        let refused = allDownClosed.decide(address: Self.london)
        #expect(refused.action == .unavailable)
        #expect(name(refused, allDownClosed) == "eu")
    }

    @Test func lookupOutcomes() throws {
        let city = try Self.snapshot()
        let unknown = city.decide(address: IPAddress("192.0.2.1")!)
        #expect(unknown.reasons.lookup == .notFound)
        #expect(unknown.reasons.region == .noLocation)
        #expect(name(unknown, city) == "eu")
        #expect(unknown.coordinate == nil)

        let country = try Self.snapshot(database: Fixtures.maxmind("GeoLite2-Country-Test.mmdb"), centroids: true)
        #expect(country.decide(address: Self.london).reasons.lookup == .countryCentroid)
        let bare = try Self.snapshot(database: Fixtures.maxmind("GeoLite2-Country-Test.mmdb"))
        let withoutCentroid = bare.decide(address: Self.london)
        #expect(withoutCentroid.reasons.lookup == .foundWithoutLocation)
        #expect(withoutCentroid.reasons.region == .noLocation)
    }

    @Test func proxyRegionsAnswerByProxying() throws {
        let snapshot = try Self.snapshot(usMode: "proxy")
        #expect(snapshot.decide(address: Self.milton).action == .proxy)
        #expect(snapshot.decide(address: Self.london).action == .redirect)
    }

    /// The three input forms (parsed bytes, as the front end has them; strings; a bare address,
    /// as the tools have it) decide alike, and forwarding headers count only from a trusted peer.
    @Test func everyInputFormDecidesAlike() throws {
        let snapshot = try Self.snapshot()
        let text = "GET /p HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \(Self.tokyo), 10.9.9.9\r\n\r\n"
        var head = RequestHead()
        let bytes = Array(text.utf8)
        let (outcome, fromBytes, untrustedBytes) = try bytes.withUnsafeBytes { raw in
            let outcome = try RequestHeadParser.parse(raw, limit: 8192, into: &head)
            let resolver = snapshot.clientIPResolver
            return (
                outcome,
                snapshot.decide(
                    client: resolver.resolve(
                        peer: Self.trustedProxy, xForwardedFor: head.forwardedFor, forwarded: head.forwarded, in: raw)),
                snapshot.decide(
                    client: resolver.resolve(
                        peer: Self.london, xForwardedFor: head.forwardedFor, forwarded: head.forwarded, in: raw))
            )
        }
        #expect(outcome == .complete)
        let fromStrings = snapshot.decide(
            client: snapshot.clientIPResolver.resolve(
                peer: Self.trustedProxy, xForwardedFor: ["\(Self.tokyo), 10.9.9.9"], forwarded: [String]()))
        let fromAddress = snapshot.decide(address: Self.tokyo)
        #expect(fromBytes.client == Self.tokyo)
        #expect(fromBytes.reasons.client == .xForwardedFor)
        #expect(fromBytes == fromStrings)
        #expect(fromBytes.regionIndex == fromAddress.regionIndex)
        #expect(fromBytes.action == fromAddress.action)
        // From an untrusted peer the header is ignored: the peer is the client.
        #expect(untrustedBytes.client == Self.london)
        #expect(untrustedBytes.reasons.client == .peer)
        #expect(name(untrustedBytes, snapshot) == "eu")
    }

    /// `geofront route`, admin `/route` and the simulator read the same decision.
    @Test func explanationAndSimulationUseTheDecision() throws {
        let snapshot = try Self.snapshot(drain: ["eu"])
        for address in [Self.london, Self.tokyo, Self.milton, IPAddress("192.0.2.1")!] {
            let decision = snapshot.decide(address: address)
            let explanation = snapshot.explain(address)
            #expect(explanation.decision == decision)
            #expect(explanation.region == name(decision, snapshot))
            #expect(explanation.reason == decision.reasons.region)
            let simulated = TrafficSimulation(snapshot: snapshot, addresses: [address]).clients[0]
            #expect(simulated.regionIndex == decision.regionIndex)
            #expect(simulated.reason == decision.reasons.region)
        }
        let json = snapshot.explain(Self.london).json
        #expect(json.contains(#""action":"redirect""#))
        #expect(
            json.contains(
                #""reasons":{"client":"peer","lookup":"located","region":"nearest_available","policy":"none"}"#))
    }

    /// A proxied request that runs out of upstreams moves to the nearest untried proxy region.
    @Test func nextProxyRegionIsTheNearestUntriedOne() throws {
        let json = """
            {"listen": "127.0.0.1:8080", "mode": "proxy",
             "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "regions": [
               {"name": "eu", "location": {"latitude": 50.11, "longitude": 8.68}, "upstreams": ["127.0.0.1:9"]},
               {"name": "ap", "location": {"latitude": 35.68, "longitude": 139.69}, "upstreams": ["127.0.0.1:9"]},
               {"name": "us", "location": {"latitude": 39.04, "longitude": -77.49}, "upstreams": ["127.0.0.1:9"]},
               {"name": "br", "location": {"latitude": -23.55, "longitude": -46.63}, "upstreams": ["127.0.0.1:9"],
                "drain": true}
             ]}
            """
        let snapshot = try RoutingSnapshot.open(config: ConfigLoader.parse(Data(json.utf8), baseDirectory: "/"))
        let london = snapshot.decide(address: Self.london)
        #expect(london.regionIndex == 0)
        let second = try #require(snapshot.nextProxyRegion(after: 0, tried: 0b1, coordinate: london.coordinate))
        #expect(snapshot.regions[second].name == "us")
        let third = try #require(snapshot.nextProxyRegion(after: 2, tried: 0b101, coordinate: london.coordinate))
        #expect(snapshot.regions[third].name == "ap")
        // The drained region is never a retry target.
        #expect(snapshot.nextProxyRegion(after: 1, tried: 0b111, coordinate: london.coordinate) == nil)
    }
}
