import Foundation
import GeoIP
import TestSupport
import Testing

@testable import GeoFrontCore

@Suite struct ConfigLoaderTests {
    /// A valid configuration as a JSON object, for tests to break one key at a time.
    static func valid() -> [String: Any] {
        [
            "listen": "127.0.0.1:8080",
            "geoip": [
                "database": "geodata/geofront-country.mmdb", "country_centroids": "geodata/country-centroids.json",
            ],
            "mode": "redirect",
            "redirect": ["status": 302],
            "trusted_proxies": ["127.0.0.0/8", "::1/128"],
            "default_region": "eu-central",
            "regions": [
                [
                    "name": "us-east", "location": ["latitude": 39.04, "longitude": -77.49],
                    "redirect_url": "https://us-east.example.com", "upstreams": ["127.0.0.1:9001"],
                ],
                [
                    "name": "eu-central", "location": ["latitude": 50.11, "longitude": 8.68],
                    "redirect_url": "https://eu-central.example.com",
                ],
                [
                    "name": "ap-northeast", "location": ["latitude": 35.68, "longitude": 139.69],
                    "redirect_url": "https://ap-northeast.example.com/jp",
                ],
            ],
        ]
    }

    static func parse(_ object: [String: Any]) throws(ConfigError) -> GeoFrontConfig {
        let data = try! JSONSerialization.data(withJSONObject: object)
        return try ConfigLoader.parse(data, baseDirectory: "/etc/geofront")
    }

    /// The messages for `object`, which must be invalid.
    static func messages(_ object: [String: Any]) -> [String] {
        do {
            _ = try parse(object)
            return ["<no error>"]
        } catch {
            return error.issues.map(\.description)
        }
    }

    static func with(_ change: (inout [String: Any]) -> Void) -> [String] {
        var object = valid()
        change(&object)
        return messages(object)
    }

    static func withRegion(_ index: Int, _ change: (inout [String: Any]) -> Void) -> [String] {
        with { object in
            var regions = object["regions"] as! [[String: Any]]
            change(&regions[index])
            object["regions"] = regions
        }
    }

    @Test func validConfigurationLoads() throws {
        let config = try Self.parse(Self.valid())
        #expect(config.listen == HostPort(host: "127.0.0.1", port: 8080))
        #expect(config.geoip.database == "/etc/geofront/geodata/geofront-country.mmdb")
        #expect(config.geoip.countryCentroids == "/etc/geofront/geodata/country-centroids.json")
        #expect(config.redirect.status == 302)
        #expect(config.regions.map(\.name) == ["us-east", "eu-central", "ap-northeast"])
        #expect(config.regions[2].redirectURL?.base == "https://ap-northeast.example.com/jp")
        #expect(config.regions[0].upstreams == [UpstreamConfig(address: HostPort(host: "127.0.0.1", port: 9001))])
        #expect(config.trustedProxies.map(\.description) == ["127.0.0.0/8", "::1/128"])
        #expect(config.defaultRegion == "eu-central")
        #expect(config.server == ServerSettings())
    }

    @Test func defaultsWhenOptionalKeysAreAbsent() throws {
        var object = Self.valid()
        for key in ["mode", "redirect", "trusted_proxies", "default_region"] { object[key] = nil }
        let config = try Self.parse(object)
        #expect(config.mode == .redirect)
        #expect(config.redirect.status == 302)
        #expect(config.trustedProxies.isEmpty)
        #expect(config.defaultRegion == "us-east")
    }

    @Test func absolutePathsStayAsTheyAre() throws {
        var object = Self.valid()
        object["geoip"] = ["database": "/var/lib/geoip/City.mmdb"]
        let config = try Self.parse(object)
        #expect(config.geoip.database == "/var/lib/geoip/City.mmdb")
        #expect(config.geoip.countryCentroids == nil)
    }

    @Test func unknownTopLevelKeySuggestsTheRightOne() {
        #expect(Self.with { $0["mdoe"] = "redirect" } == [#"mdoe: unknown key (did you mean "mode"?)"#])
    }

    @Test func unknownKeyWithoutACloseMatchListsTheAllowedOnes() {
        #expect(
            Self.with { $0["colour"] = "blue" } == [
                "colour: unknown key; allowed here: listen, geoip, mode, redirect, trusted_proxies, default_region, regions, server, health_check, when_all_down, proxy, admin, access_log, rate_limit, proxy_protocol, tls, policies, affinity, cache, services, routes, default_route"
            ])
    }

    @Test func unknownRegionKey() {
        #expect(
            Self.withRegion(1) { $0["redirct_url"] = "https://x.example.com" } == [
                #"regions[1].redirct_url: unknown key (did you mean "redirect_url"?)"#
            ])
    }

    @Test func duplicateRegionName() {
        #expect(
            Self.withRegion(2) { $0["name"] = "us-east" } == [
                #"regions[2].name: "us-east" is already the name of regions[0]"#
            ])
    }

    @Test func latitudeOutOfRange() {
        #expect(
            Self.withRegion(2) { $0["location"] = ["latitude": 123.4, "longitude": 10] } == [
                "regions[2].location.latitude: 123.4 is outside -90…90"
            ])
    }

    @Test func longitudeOutOfRange() {
        #expect(
            Self.withRegion(0) { $0["location"] = ["latitude": 10, "longitude": -180.5] } == [
                "regions[0].location.longitude: -180.5 is outside -180…180"
            ])
    }

    @Test func latitudeOfTheWrongType() {
        #expect(
            Self.withRegion(0) { $0["location"] = ["latitude": "39.04", "longitude": 1] } == [
                "regions[0].location.latitude: expected a number, found a string"
            ])
    }

    @Test func urlWithoutScheme() {
        #expect(
            Self.withRegion(1) { $0["redirect_url"] = "eu.example.com" } == [
                #"regions[1].redirect_url: "eu.example.com": needs a scheme and a host, e.g. https://eu.example.com"#
            ])
    }

    @Test func urlWithoutHost() {
        #expect(
            Self.withRegion(1) { $0["redirect_url"] = "https:///path" } == [
                #"regions[1].redirect_url: "https:///path": the host is missing"#
            ])
    }

    @Test func urlWithAnotherScheme() {
        #expect(
            Self.withRegion(1) { $0["redirect_url"] = "ftp://eu.example.com" } == [
                #"regions[1].redirect_url: "ftp://eu.example.com": the scheme must be http or https, not "ftp""#
            ])
    }

    @Test func urlWithQueryOrControlCharacters() {
        #expect(
            Self.withRegion(1) { $0["redirect_url"] = "https://eu.example.com/?a=1" } == [
                #"regions[1].redirect_url: "https://eu.example.com/?a=1": must not have a query or fragment: the request's own are appended"#
            ])
        #expect(
            Self.withRegion(1) { $0["redirect_url"] = "https://eu.example.com/\r\nX: y" } == [
                #"regions[1].redirect_url: "https://eu.example.com/??X: y": contains a space, control or non-ASCII character"#
            ])
    }

    @Test func redirectURLRequiredInRedirectMode() {
        #expect(
            Self.withRegion(0) { $0["redirect_url"] = nil } == ["regions[0].redirect_url: is required in redirect mode"]
        )
    }

    @Test func badCIDR() {
        #expect(
            Self.with { $0["trusted_proxies"] = ["127.0.0.0/8", "10.0.0.1/8", "::1/129"] } == [
                #"trusted_proxies[1]: "10.0.0.1/8" is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32"#,
                #"trusted_proxies[2]: "::1/129" is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32"#,
            ])
    }

    @Test func defaultRegionThatIsNotARegion() {
        #expect(
            Self.with { $0["default_region"] = "mars-1" } == [
                #"default_region: "mars-1" is not a region; regions are: us-east, eu-central, ap-northeast"#
            ])
    }

    @Test(arguments: [200, 304, 404, 300])
    func statusOutsideTheRedirectStatuses(status: Int) {
        #expect(
            Self.with { $0["redirect"] = ["status": status] } == [
                "redirect.status: \(status) is not a redirect status; allowed: 301, 302, 303, 307, 308"
            ])
    }

    @Test(arguments: [301, 302, 303, 307, 308])
    func everyRedirectStatusIsAccepted(status: Int) throws {
        var object = Self.valid()
        object["redirect"] = ["status": status]
        #expect(try Self.parse(object).redirect.status == status)
    }

    @Test func unknownMode() {
        #expect(
            Self.with { $0["mode"] = "teleport" } == [#"mode: "teleport" is not a mode; allowed: "redirect", "proxy""#])
    }

    @Test func badListenAddresses() {
        #expect(
            Self.with { $0["listen"] = "127.0.0.1" } == [
                #"listen: "127.0.0.1": expected host:port, e.g. 127.0.0.1:8080"#
            ])
        #expect(
            Self.with { $0["listen"] = "127.0.0.1:70000" } == [
                #"listen: "127.0.0.1:70000": the port must be a number in 0…65535"#
            ])
        #expect(
            Self.with { $0["listen"] = "::1:80" } == [
                #"listen: "::1:80": an IPv6 address needs brackets, e.g. [::1]:8080"#
            ])
        #expect(Self.with { $0["listen"] = 8080 } == ["listen: expected a string, found a number"])
    }

    @Test func badUpstream() {
        #expect(
            Self.withRegion(0) { $0["upstreams"] = ["127.0.0.1:0", "bad host:80"] } == [
                #"regions[0].upstreams[0]: "127.0.0.1:0": the port must be a number in 1…65535"#,
                #"regions[0].upstreams[1]: "bad host:80": "bad host" is neither an IP address nor a host name"#,
            ])
    }

    @Test func missingRequiredKeys() {
        #expect(Self.with { $0["geoip"] = nil } == ["geoip: is required"])
        #expect(Self.with { $0["geoip"] = [String: Any]() } == ["geoip.database: is required"])
        #expect(Self.with { $0["regions"] = [Any]() } == ["regions: needs at least one region"])
        #expect(Self.withRegion(0) { $0["location"] = nil } == ["regions[0].location: is required"])
    }

    @Test func badRegionName() {
        #expect(
            Self.withRegion(0) { $0["name"] = "US East" } == [
                #"regions[0].name: "US East" may only use a-z, 0-9, ".", "_" and "-" (at most 63 characters)"#
            ])
    }

    @Test func serverSettings() throws {
        var object = Self.valid()
        object["server"] = [
            "idle_timeout_ms": 5000, "request_timeout_ms": 2000, "max_request_head_bytes": 8192, "threads": 2,
        ]
        let config = try Self.parse(object)
        #expect(
            config.server
                == ServerSettings(
                    idleTimeoutMilliseconds: 5000, requestTimeoutMilliseconds: 2000, maxRequestHeadBytes: 8192,
                    threads: 2))
        #expect(
            Self.with { $0["server"] = ["idle_timeout_ms": 0] } == [
                "server.idle_timeout_ms: 0 must be a whole number in 1…86400000"
            ])
        #expect(
            Self.with { $0["server"] = ["max_request_head_bytes": 1.5] } == [
                "server.max_request_head_bytes: 1.5 must be a whole number in 1024…1048576"
            ])
        #expect(try Self.parse(Self.valid()).server.sendTimeoutMilliseconds == 60_000)
        object["server"] = ["send_timeout_ms": 1500]
        #expect(try Self.parse(object).server.sendTimeoutMilliseconds == 1500)
        #expect(
            Self.with { $0["server"] = ["send_timeout_ms": 0] } == [
                "server.send_timeout_ms: 0 must be a whole number in 1…3600000"
            ])

        // `fast_path` chooses nothing any more (one front end serves every request) but is still
        // accepted, so configurations that set it keep loading; it must still be a boolean.
        for flag in [true, false] {
            object["server"] = ["fast_path": flag]
            #expect(Self.messages(object) == ["<no error>"])
        }
        #expect(
            Self.with { $0["server"] = ["fast_path": "no"] } == [
                "server.fast_path: expected true or false, found a string"
            ])
    }

    @Test func everyProblemIsReportedAtOnce() {
        let messages = Self.with { object in
            object["mdoe"] = 1
            object["default_region"] = "nowhere"
            var regions = object["regions"] as! [[String: Any]]
            regions[0]["location"] = ["latitude": 91, "longitude": 0]
            regions[1]["redirect_url"] = "eu"
            object["regions"] = regions
        }
        #expect(messages.count == 4, "\(messages)")
    }

    @Test(arguments: ["", "{", "{\"listen\": }", "[1, 2]", "{\"listen\": \"a\",}", "{\"a\": [1,\n ]}", "null"])
    func malformedJSON(text: String) {
        do {
            _ = try ConfigLoader.parse(Data(text.utf8), baseDirectory: "/", file: "regions.json")
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(error.description.hasPrefix("regions.json: "))
            if text != "[1, 2]" && text != "null" {
                #expect(error.issues.first?.message.hasPrefix("malformed JSON: ") == true, "\(error)")
            }
        }
    }

    @Test func trailingCommaPosition() {
        let text = "{\n  \"listen\": \"127.0.0.1:1\",\n}"
        #expect(ConfigLoader.trailingComma(in: Data(text.utf8))! == (2, 26))
        #expect(ConfigLoader.trailingComma(in: Data(#"{"a": "x,}", "b": [1, 2]}"#.utf8)) == nil)
        #expect(ConfigLoader.trailingComma(in: Data(#"{"a": "\",]"}"#.utf8)) == nil)
    }

    @Test func missingFileNamesTheFile() {
        #expect {
            try ConfigLoader.load(path: "/nonexistent/regions.json")
        } throws: { error in
            "\(error)" == "/nonexistent/regions.json: no such file"
        }
    }

    @Test func shippedRegionsJSONIsValidAndRealistic() throws {
        let config = try ConfigLoader.load(path: "\(Fixtures.repositoryRoot)/regions.json")
        #expect(config.regions.count >= 6)
        #expect(config.geoip.database == Fixtures.geodata("geofront-country.mmdb"))
        #expect(config.regions.contains { $0.name == "eu-north" })
    }
}

@Suite struct HealthConfigTests {
    static func with(_ change: (inout [String: Any]) -> Void) -> [String] {
        ConfigLoaderTests.with(change)
    }

    @Test func globalCheckAppliesToRegionsWithTargets() throws {
        var object = ConfigLoaderTests.valid()
        object["health_check"] = [
            "type": "http", "path": "/healthz", "interval_ms": 2000, "timeout_ms": 1000, "rise": 2, "fall": 3,
            "expect_status": "200-399", "host": NSNull(),
        ]
        object["when_all_down"] = "unavailable"
        var regions = object["regions"] as! [[String: Any]]
        regions[1]["url"] = "http://10.0.0.5:8080/status?full=1"
        regions[2]["health_check"] = ["type": "tcp", "fall": 1]
        regions[2]["targets"] = ["10.0.0.7:443", "[2001:db8::1]:443"]
        regions[2]["min_healthy"] = 2
        regions[2]["drain"] = true
        object["regions"] = regions
        let config = try ConfigLoaderTests.parse(object)
        #expect(config.whenAllDown == .unavailable)
        let us = config.regions[0]
        #expect(us.isChecked)
        #expect(us.healthTargets == [HealthTarget(address: HostPort(host: "127.0.0.1", port: 9001))])
        #expect(us.healthCheck == HealthCheckSettings())
        let eu = config.regions[1]
        #expect(
            eu.healthTargets == [
                HealthTarget(
                    address: HostPort(host: "10.0.0.5", port: 8080), path: "/status?full=1", hostHeader: "10.0.0.5:8080"
                )
            ])
        let ap = config.regions[2]
        #expect(ap.healthCheck?.kind == .tcp)
        #expect(ap.healthCheck?.fall == 1)
        #expect(ap.healthCheck?.rise == 2)  // inherited from the global check
        #expect(ap.healthTargets.count == 2)
        #expect(ap.minHealthy == 2)
        #expect(ap.drain)
    }

    @Test func noGlobalCheckMeansRegionsAreUnchecked() throws {
        let config = try ConfigLoaderTests.parse(ConfigLoaderTests.valid())
        #expect(config.regions.allSatisfy { !$0.isChecked })
        #expect(config.whenAllDown == .nearest)
    }

    @Test func regionCanOptOut() throws {
        var object = ConfigLoaderTests.valid()
        object["health_check"] = ["type": "tcp"]
        var regions = object["regions"] as! [[String: Any]]
        regions[0]["health_check"] = false
        object["regions"] = regions
        #expect(try !ConfigLoaderTests.parse(object).regions[0].isChecked)
    }

    @Test func timeoutMustBeShorterThanTheInterval() {
        #expect(
            Self.with { $0["health_check"] = ["interval_ms": 1000, "timeout_ms": 1000] } == [
                "health_check.timeout_ms: 1000 must be less than interval_ms (1000)"
            ])
        #expect(
            ConfigLoaderTests.withRegion(0) { $0["health_check"] = ["interval_ms": 500] } == [
                "regions[0].health_check.timeout_ms: 1000 must be less than interval_ms (500)"
            ])
    }

    @Test func badHealthCheckValues() {
        #expect(
            Self.with { $0["health_check"] = ["rise": 0] } == ["health_check.rise: 0 must be a whole number in 1…100"])
        #expect(
            Self.with { $0["health_check"] = ["fall": -1] } == ["health_check.fall: -1 must be a whole number in 1…100"]
        )
        #expect(
            Self.with { $0["health_check"] = ["type": "icmp"] } == [
                #"health_check.type: "icmp" is not a check type; allowed: "http", "tcp""#
            ])
        #expect(
            Self.with { $0["health_check"] = ["path": "healthz"] } == [
                #"health_check.path: "healthz" must start with "/" and have no spaces or control characters"#
            ])
        #expect(
            Self.with { $0["health_check"] = ["expect_status": "200-99"] } == [
                #"health_check.expect_status: "200-99" is not a status list such as "200-399" or "200,204""#
            ])
        #expect(
            Self.with { $0["health_check"] = ["intervall_ms": 5] } == [
                #"health_check.intervall_ms: unknown key (did you mean "interval_ms"?)"#
            ])
        #expect(
            Self.with { $0["when_all_down"] = "panic" } == [
                #"when_all_down: "panic" is not a policy; allowed: "nearest", "unavailable""#
            ])
    }

    @Test func minHealthyCannotExceedTargets() {
        #expect(
            ConfigLoaderTests.with { object in
                object["health_check"] = ["type": "tcp"]
                var regions = object["regions"] as! [[String: Any]]
                regions[0]["min_healthy"] = 2
                object["regions"] = regions
            } == ["regions[0].min_healthy: 2 is more than the region's 1 health check target(s)"])
    }

    /// The health targets of region 1 (eu-central) with `change` applied to it, under a global check.
    static func eu(_ change: (inout [String: Any]) -> Void) throws -> [HealthTarget] {
        var object = ConfigLoaderTests.valid()
        object["health_check"] = ["type": "http"]
        var regions = object["regions"] as! [[String: Any]]
        change(&regions[1])
        object["regions"] = regions
        return try ConfigLoaderTests.parse(object).regions[1].healthTargets
    }

    @Test func httpsHealthURLs() throws {
        // Port 443 by default; SNI and the verified name are the URL's host.
        #expect(
            try Self.eu { $0["url"] = "HTTPS://eu.example.com/healthz?deep=1" } == [
                HealthTarget(
                    address: HostPort(host: "eu.example.com", port: 443), path: "/healthz?deep=1",
                    hostHeader: "eu.example.com", tls: true, serverName: "eu.example.com")
            ])
        #expect(
            try Self.eu { $0["url"] = "https://eu.example.com:8443" } == [
                HealthTarget(
                    address: HostPort(host: "eu.example.com", port: 8443), path: "/", hostHeader: "eu.example.com:8443",
                    tls: true, serverName: "eu.example.com")
            ])
        // An IP address is no SNI name: the certificate must carry the address itself.
        #expect(
            try Self.eu { $0["url"] = "https://10.0.0.5/status" } == [
                HealthTarget(
                    address: HostPort(host: "10.0.0.5", port: 443), path: "/status", hostHeader: "10.0.0.5", tls: true)
            ])
        #expect(
            try Self.eu { $0["url"] = "https://[2001:db8::1]/" } == [
                HealthTarget(
                    address: HostPort(host: "2001:db8::1", port: 443), path: "/", hostHeader: "[2001:db8::1]",
                    tls: true)
            ])
        // http:// is as before: port 80, no TLS.
        #expect(
            try Self.eu { $0["url"] = "http://eu.example.com/healthz" } == [
                HealthTarget(
                    address: HostPort(host: "eu.example.com", port: 80), path: "/healthz", hostHeader: "eu.example.com")
            ])
    }

    @Test func httpsUpstreamsAreTLSTargets() throws {
        let targets = try Self.eu {
            $0["upstreams"] = [
                "https://origin.example:8443", "10.0.0.8:80",
                ["address": "10.0.0.9:443", "tls": true, "server_name": "origin.example"],
            ]
        }
        #expect(
            targets == [
                HealthTarget(address: HostPort(host: "origin.example", port: 8443), tls: true),
                HealthTarget(address: HostPort(host: "10.0.0.8", port: 80)),
                HealthTarget(
                    address: HostPort(host: "10.0.0.9", port: 443), tls: true, serverName: "origin.example"),
            ])
        #expect(targets.map(\.description) == ["https://origin.example:8443", "10.0.0.8:80", "https://10.0.0.9:443"])
    }

    @Test func badHealthURLAndTargets() {
        #expect(
            ConfigLoaderTests.withRegion(1) { $0["url"] = "ftp://eu.example.com/healthz" } == [
                #"regions[1].url: "ftp://eu.example.com/healthz": must be an http:// or https:// URL, e.g. http://10.0.0.5:8080/healthz"#
            ])
        #expect(
            ConfigLoaderTests.withRegion(1) { $0["url"] = "https:///healthz" } == [
                #"regions[1].url: "https:///healthz": bad host: the host is missing"#
            ])
        #expect(
            ConfigLoaderTests.withRegion(1) { $0["url"] = "https://user@eu.example.com/" } == [
                #"regions[1].url: "https://user@eu.example.com/": contains a space, control character, user info or fragment"#
            ])
        #expect(
            ConfigLoaderTests.withRegion(1) { $0["targets"] = ["10.0.0.1"] } == [
                #"regions[1].targets[0]: "10.0.0.1": expected host:port, e.g. 127.0.0.1:8080"#
            ])
        #expect(
            ConfigLoaderTests.withRegion(1) {
                $0["targets"] = ["10.0.0.1:80"]
                $0["url"] = "http://10.0.0.1/"
            } == ["regions[1].url: give either targets or url, not both"])
    }
}

@Suite struct LimitsConfigTests {
    @Test func rateLimitAndConnectionLimits() throws {
        var object = ConfigLoaderTests.valid()
        object["rate_limit"] = [
            "requests_per_second": 100, "burst": 200, "key": "prefix", "allow": ["10.0.0.0/8"],
            "max_tracked_clients": 5000,
        ]
        object["server"] = ["max_connections": 1000, "max_connections_per_ip": 20, "max_requests_per_connection": 0]
        let config = try ConfigLoaderTests.parse(object)
        let limit = try #require(config.rateLimit)
        #expect(limit.requestsPerSecond == 100)
        #expect(limit.burst == 200)
        #expect(limit.key == .prefix)
        #expect(limit.allow == [IPNetwork("10.0.0.0/8")!])
        #expect(limit.maxTrackedClients == 5000)
        #expect(config.server.maxConnections == 1000)
        #expect(config.server.maxConnectionsPerIP == 20)
        #expect(config.server.maxRequestsPerConnection == 0)
        #expect(try ConfigLoaderTests.parse(ConfigLoaderTests.valid()).rateLimit == nil)
        #expect(try ConfigLoaderTests.parse(ConfigLoaderTests.valid()).server.maxRequestsPerConnection == 10_000)
    }

    @Test func badRateLimits() {
        #expect(
            ConfigLoaderTests.with { $0["rate_limit"] = ["burst": 5] } == [
                "rate_limit.requests_per_second: is required"
            ])
        #expect(
            ConfigLoaderTests.with { $0["rate_limit"] = ["requests_per_second": 0] } == [
                "rate_limit.requests_per_second: 0 must be more than 0 (at most 1000000)"
            ])
        #expect(
            ConfigLoaderTests.with { $0["rate_limit"] = ["requests_per_second": 5, "key": "user"] } == [
                #"rate_limit.key: "user" is not a key; allowed: "ip", "prefix""#
            ])
        #expect(
            ConfigLoaderTests.with { $0["rate_limit"] = ["requests_per_second": 5, "allow": ["10.0.0.1/8"]] } == [
                #"rate_limit.allow[0]: "10.0.0.1/8" is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32"#
            ])
    }
}

@Suite struct TLSListenerConfigTests {
    @Test func tlsListenerSettings() throws {
        var object = ConfigLoaderTests.valid()
        object["tls"] = [
            "listen": "0.0.0.0:8443", "redirect_http": true,
            "certificates": [["certificate": "certs/a.pem", "private_key": "/keys/a.key"]],
        ]
        let tls = try #require(try ConfigLoaderTests.parse(object).tls)
        #expect(tls.listen == HostPort(host: "0.0.0.0", port: 8443))
        #expect(tls.redirectHTTP)
        // Relative paths are resolved against the configuration file's directory.
        #expect(tls.certificates.map(\.certificate) == ["/etc/geofront/certs/a.pem"])
        #expect(tls.certificates.map(\.privateKey) == ["/keys/a.key"])
        #expect(try ConfigLoaderTests.parse(ConfigLoaderTests.valid()).tls == nil)
    }

    @Test func badTLSListenerSettings() {
        #expect(
            ConfigLoaderTests.with { $0["tls"] = ["certificates": [["certificate": "a", "private_key": "b"]]] } == [
                "tls.listen: is required"
            ])
        #expect(
            ConfigLoaderTests.with { $0["tls"] = ["listen": "127.0.0.1:8443", "certificates": [] as [Any]] } == [
                "tls.certificates: needs at least one certificate"
            ])
        #expect(
            ConfigLoaderTests.with {
                $0["tls"] = ["listen": "127.0.0.1:8443", "certificates": [["certificate": "a.pem"]]]
            } == ["tls.certificates[0].private_key: is required"])
        #expect(
            ConfigLoaderTests.with {
                $0["tls"] = ["listen": "127.0.0.1:8080", "certificates": [["certificate": "a", "private_key": "b"]]]
            } == [#"tls.listen: "127.0.0.1:8080" is the plain listener's address"#])
    }
}

@Suite struct ServerHeaderConfigTests {
    /// The origin's `Server` field is removed unless `proxy.server_header` is `pass`;
    /// `strip_response_headers` adds to that list.
    @Test func serverHeaderIsRemovedByDefault() throws {
        let defaults = try ConfigLoaderTests.parse(ConfigLoaderTests.valid()).proxy
        #expect(!defaults.passServerHeader)
        #expect(defaults.removedResponseHeaders == ["server"])
        var object = ConfigLoaderTests.valid()
        object["proxy"] = ["server_header": "pass", "strip_response_headers": ["X-Powered-By"]]
        let passing = try ConfigLoaderTests.parse(object).proxy
        #expect(passing.passServerHeader)
        #expect(passing.removedResponseHeaders == ["x-powered-by"])
        object["proxy"] = ["server_header": "strip", "strip_response_headers": ["X-Powered-By", "Server"]]
        #expect(try ConfigLoaderTests.parse(object).proxy.removedResponseHeaders == ["x-powered-by", "server"])
    }

    @Test func badServerHeaderValue() {
        #expect(
            ConfigLoaderTests.with { $0["proxy"] = ["server_header": "hide"] } == [
                #"proxy.server_header: "hide" must be "strip" or "pass""#
            ])
    }
}

@Suite struct TunnelConfigTests {
    @Test func tunnelIdleTimeout() throws {
        #expect(try ConfigLoaderTests.parse(ConfigLoaderTests.valid()).proxy.tunnelIdleTimeoutMilliseconds == 3_600_000)
        var object = ConfigLoaderTests.valid()
        object["proxy"] = ["tunnel_idle_timeout_ms": 5000]
        #expect(try ConfigLoaderTests.parse(object).proxy.tunnelIdleTimeoutMilliseconds == 5000)
        #expect(
            ConfigLoaderTests.with { $0["proxy"] = ["tunnel_idle_timeout_ms": 0] } == [
                "proxy.tunnel_idle_timeout_ms: 0 must be a whole number in 1…86400000"
            ])
    }
}
