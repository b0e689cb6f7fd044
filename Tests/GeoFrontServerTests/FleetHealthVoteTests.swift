import Foundation
import Testing

@testable import GeoFrontServer

/// A health vote's key and value: region ids (`service/region`) and TLS targets (`https://…`)
/// hold slashes, escaped in the key so the instance id stays its first part.
@Suite struct FleetHealthVoteTests {
    @Test func keysEscapeSlashesAndGiveBackTheInstance() throws {
        let endpoint = try EtcdEndpoint.parse("etcd://127.0.0.1:2379/geofront")
        #expect(endpoint.healthPrefix == "/geofront/health/")
        let key = FleetHealthVote.key(
            healthPrefix: endpoint.healthPrefix, instance: "fra-1", region: "api/eu-west",
            target: "https://10.0.0.5:443")
        #expect(key == "/geofront/health/fra-1/api%2Feu-west/https:%2F%2F10.0.0.5:443")
        #expect(FleetHealthVote.instance(ofKey: key, healthPrefix: endpoint.healthPrefix) == "fra-1")
        let odd = FleetHealthVote.key(healthPrefix: "/g/health/", instance: "a/b%c", region: "r", target: "t")
        #expect(FleetHealthVote.instance(ofKey: odd, healthPrefix: "/g/health/") == "a/b%c")
        #expect(FleetHealthVote.instance(ofKey: "/other/x/r/t", healthPrefix: "/g/health/") == nil)
    }

    @Test func valueIsSortedJSONWithAnExplicitNullReason() throws {
        let up = FleetHealthVote(
            region: "eu", target: "10.0.0.5:80", up: true, since: "2026-12-05T10:00:00Z", reason: nil)
        #expect(
            String(decoding: up.json(), as: UTF8.self)
                == #"{"reason":null,"region":"eu","since":"2026-12-05T10:00:00Z","target":"10.0.0.5:80","up":true}"#)
        let down = FleetHealthVote(region: "eu", target: "t", up: false, since: "s", reason: "status 503")
        #expect(try JSONDecoder().decode(FleetHealthVote.self, from: down.json()) == down)
    }
}
