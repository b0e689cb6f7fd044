import Foundation
import Testing

@testable import GeoFrontCore

/// The HTTP/2 keys: `tls.alpn`, `server.h2c` and the `server.h2_*` limits.
@Suite struct HTTP2ConfigTests {
    static func with(_ change: (inout [String: Any]) -> Void) -> [String] {
        ConfigLoaderTests.with(change)
    }

    static var tls: [String: Any] {
        [
            "listen": "127.0.0.1:8443", "certificates": [["certificate": "a.pem", "private_key": "a.key"]],
        ]
    }

    @Test func defaults() throws {
        let config = try ConfigLoaderTests.parse(ConfigLoaderTests.valid())
        #expect(!config.server.h2c)
        #expect(config.server.h2MaxConcurrentStreams == 100)
        #expect(config.server.h2MaxResets == 200)
        #expect(config.server.h2MaxControlFrames == 200)
        #expect(config.server.h2FloodWindowMilliseconds == 30_000)
        #expect(config.server.h2MaxContinuationFrames == 5)
        var object = ConfigLoaderTests.valid()
        object["tls"] = Self.tls
        #expect(try ConfigLoaderTests.parse(object).tls?.alpn == ["h2", "http/1.1"])
    }

    @Test func serverKeysAreRead() throws {
        var object = ConfigLoaderTests.valid()
        object["server"] = [
            "h2c": true, "h2_max_concurrent_streams": 10, "h2_max_resets": 50, "h2_max_control_frames": 60,
            "h2_flood_window_ms": 1000, "h2_max_continuation_frames": 3,
        ]
        let server = try ConfigLoaderTests.parse(object).server
        #expect(server.h2c)
        #expect(server.h2MaxConcurrentStreams == 10)
        #expect(server.h2MaxResets == 50)
        #expect(server.h2MaxControlFrames == 60)
        #expect(server.h2FloodWindowMilliseconds == 1000)
        #expect(server.h2MaxContinuationFrames == 3)
        #expect(Self.with { $0["server"] = ["h2c": "yes"] } == ["server.h2c: expected true or false, found a string"])
        #expect(
            Self.with { $0["server"] = ["h2_max_concurrent_streams": 0] } == [
                "server.h2_max_concurrent_streams: 0 must be a whole number in 1…100000"
            ])
        #expect(
            Self.with { $0["server"] = ["h2_max_continuation_frames": 0] } == [
                "server.h2_max_continuation_frames: 0 must be a whole number in 1…1000"
            ])
    }

    @Test func alpnIsChecked() throws {
        var object = ConfigLoaderTests.valid()
        var tls = Self.tls
        tls["alpn"] = ["http/1.1"]
        object["tls"] = tls
        #expect(try ConfigLoaderTests.parse(object).tls?.alpn == ["http/1.1"])
        func alpn(_ value: Any) -> [String] {
            Self.with { object in
                var tls = Self.tls
                tls["alpn"] = value
                object["tls"] = tls
            }
        }
        #expect(alpn([String]()) == [#"tls.alpn: needs at least one protocol ("h2", "http/1.1")"#])
        #expect(alpn(["h3"]) == [#"tls.alpn[0]: "h3" is not a protocol GeoFront speaks ("h2", "http/1.1")"#])
        #expect(alpn(["h2", "h2"]) == [#"tls.alpn[1]: "h2" is listed twice"#])
        #expect(alpn("h2") == ["tls.alpn: expected an array, found a string"])
    }

    @Test func upstreamProtocolIsRead() throws {
        /// The valid configuration in proxy mode, the first region's upstream being `entry`.
        func proxied(_ entry: Any) -> [String: Any] {
            var object = ConfigLoaderTests.valid()
            var regions = object["regions"] as! [[String: Any]]
            for index in regions.indices { regions[index]["upstreams"] = ["127.0.0.1:9001"] }
            regions[0]["upstreams"] = [entry]
            object["regions"] = regions
            object["mode"] = "proxy"
            return object
        }
        func upstream(_ entry: Any) throws -> UpstreamConfig? {
            try ConfigLoaderTests.parse(proxied(entry)).regions[0].upstreams.first
        }
        #expect(try upstream("127.0.0.1:9000")?.httpProtocol == .http1)
        let h2c = try upstream(["address": "127.0.0.1:9000", "protocol": "h2"])
        #expect(h2c?.httpProtocol == .h2 && h2c?.tls == false)
        let h2 = try upstream(["address": "https://origin.example:443", "protocol": "h2"])
        #expect(h2?.httpProtocol == .h2 && h2?.tls == true)
        #expect(try upstream(["address": "127.0.0.1:9000", "protocol": "http/1.1"])?.httpProtocol == .http1)
        #expect(
            Self.with { $0 = proxied(["address": "127.0.0.1:9000", "protocol": "h3"]) } == [
                #"regions[0].upstreams[0].protocol: "h3" is not a protocol: use "h2" or "http/1.1""#
            ])
        // An h2 upstream is health-checked over h2 too.
        let config = try ConfigLoaderTests.parse(proxied(["address": "127.0.0.1:9000", "protocol": "h2"]))
        #expect(config.regions[0].healthTargets.first?.http2 == true)
        #expect(config.regions[1].healthTargets.first?.http2 == false)
    }
}
