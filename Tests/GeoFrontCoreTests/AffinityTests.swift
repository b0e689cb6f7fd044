import Foundation
import GeoIP
import TestSupport
import Testing

@testable import GeoFrontCore

/// `affinity`: the token (against vectors computed with Python's `hmac`), reading cookies, the
/// decision (kept across bias and region changes, moved when unavailable, policies win) and the
/// configuration's errors. MaxMind's City test database; the six regions of TrafficPolicyTests.
@Suite struct AffinityTests {
    static let key = "0123456789abcdef-test-key"
    // python3 -c "import hmac,hashlib,base64; d=hmac.new(b'0123456789abcdef-test-key',
    //   b'geofront-affinity:eu-west', hashlib.sha256).digest(); print(base64.urlsafe_b64encode(d)[:22])"
    static let euWestToken = "mRY2KEVMYu9yGPKkuHJr5e"
    static let euCentralToken = "nJ8xUXgREbWQATYXIljsSP"
    /// eu-central's token under the key `another-key-0123456789`.
    static let euCentralOtherKeyToken = "X4SPK6ZJD9TWDZvkap-b_F"

    static func snapshot(
        policies: String = "[]", drain: Set<String> = [], bias: [String: Int] = [:],
        extraRegions: [(String, Double, Double)] = [], affinity: String? = nil
    ) throws -> RoutingSnapshot {
        let places: [(String, Double, Double)] =
            [
                ("eu-west", 51.51, -0.13), ("eu-central", 50.11, 8.68), ("eu-north", 59.33, 18.07),
                ("us-east", 39.04, -77.49), ("us-west", 47.61, -122.33), ("ap-northeast", 35.68, 139.69),
            ] + extraRegions
        let regions = places.map { name, latitude, longitude in
            """
            {"name": "\(name)", "location": {"latitude": \(latitude), "longitude": \(longitude)},
             "redirect_url": "https://\(name).example.com", "drain": \(drain.contains(name)), "bias": \(bias[name] ?? 0)}
            """
        }
        let json = """
            {"listen": "127.0.0.1:8080", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "default_region": "eu-central", "regions": [\(regions.joined(separator: ","))], "policies": \(policies),
             "affinity": \(affinity ?? #"{"key": "\#(key)"}"#)}
            """
        return try RoutingSnapshot.open(config: ConfigLoader.parse(Data(json.utf8), baseDirectory: "/"))
    }

    static let london = IPAddress("81.2.69.142")!  // GB, EU: nearest eu-west

    /// The decision for the London client sending `cookie` (a `Cookie` field value), with what
    /// affinity made of it.
    func decide(_ snapshot: RoutingSnapshot, cookie: String?) throws -> (String, RoutingDecision, AffinityOutcome) {
        let question = try RouteQuestion(cookies: cookie.map { [$0] } ?? [])
        let explanation = snapshot.explain(Self.london, question: question)
        return (explanation.region ?? "-", explanation.decision, try #require(explanation.affinity))
    }

    @Test func tokensMatchPythonsHMAC() {
        let key = Array(Self.key.utf8)
        #expect(String(decoding: AffinityToken.token(key: key, region: "eu-west"), as: UTF8.self) == Self.euWestToken)
        #expect(
            String(decoding: AffinityToken.token(key: key, region: "eu-central"), as: UTF8.self)
                == Self.euCentralToken)
        #expect(
            String(
                decoding: AffinityToken.token(key: Array("another-key-0123456789".utf8), region: "eu-central"),
                as: UTF8.self)
                == Self.euCentralOtherKeyToken)
        #expect(String(decoding: AffinityToken.base64URL([0xfb, 0xff]), as: UTF8.self) == "-_8")
    }

    @Test func cookieValuesAreCheckedByRegionAndToken() throws {
        let table = try #require(try Self.snapshot().affinity)
        func check(_ text: String) -> AffinityTable.Cookie {
            Array(text.utf8).withUnsafeBytes { table.check($0) }
        }
        #expect(check("eu-west.\(Self.euWestToken)") == .valid(region: 0))
        #expect(check("eu-central.\(Self.euCentralToken)") == .valid(region: 1))
        #expect(check("eu-central.\(Self.euWestToken)") == .invalid(.badSignature))
        #expect(check("eu-central.\(Self.euCentralOtherKeyToken)") == .invalid(.badSignature))
        #expect(check("eu-central.\(Self.euCentralToken.dropLast())") == .invalid(.badSignature))
        #expect(check("mars.\(Self.euWestToken)") == .invalid(.unknownRegion))
        #expect(check("eu-west") == .invalid(.malformed))
        #expect(check(".\(Self.euWestToken)") == .invalid(.malformed))
        #expect(check("") == .invalid(.malformed))
        #expect(table.value(region: 0) == "eu-west.\(Self.euWestToken)")
        #expect(
            String(decoding: table.setCookieLine(region: 0, secure: false), as: UTF8.self)
                == "Set-Cookie: gf_region=eu-west.\(Self.euWestToken); Path=/; Max-Age=3600; HttpOnly; SameSite=Lax\r\n"
        )
        #expect(
            String(decoding: table.setCookieLine(region: 0, secure: true), as: UTF8.self)
                .hasSuffix("; SameSite=Lax; Secure\r\n"))
    }

    @Test func theFirstDecisionSetsTheCookieAndAValidOneIsNotSetAgain() throws {
        let snapshot = try Self.snapshot()
        let (region, decision, outcome) = try decide(snapshot, cookie: nil)
        #expect(region == "eu-west" && decision.reasons.region == .nearest)
        #expect(outcome.cookie == .absent && outcome.setCookie == 0)
        let (again, kept, second) = try decide(snapshot, cookie: "gf_region=eu-west.\(Self.euWestToken)")
        #expect(again == "eu-west" && kept.reasons.region == .affinity)
        #expect(second.kept && second.setCookie == nil)
        #expect(abs((kept.distanceKm ?? 0) - (decision.distanceKm ?? -1)) < 0.001)
    }

    @Test func theCookieKeepsTheClientAcrossABiasAndANearerRegion() throws {
        // Linköping's nearest region is eu-north (Stockholm, about 200 km).
        let linkoping = IPAddress("89.160.20.112")!
        let token = String(decoding: AffinityToken.token(key: Array(Self.key.utf8), region: "eu-north"), as: UTF8.self)
        let question = try RouteQuestion(cookies: ["other=1", "gf_region=eu-north.\(token)"])
        #expect(try Self.snapshot().explain(linkoping, question: question).decision.reasons.region == .affinity)
        let biased = try Self.snapshot(bias: ["eu-central": 90])
        #expect(biased.explain(linkoping).region == "eu-central")
        let kept = biased.explain(linkoping, question: question)
        #expect(kept.region == "eu-north" && kept.affinity?.kept == true && kept.affinity?.setCookie == nil)
        let nearer = try Self.snapshot(extraRegions: [("se-east", 58.4167, 15.6167)])
        #expect(nearer.explain(linkoping).region == "se-east")
        #expect(nearer.explain(linkoping, question: question).region == "eu-north")
    }

    @Test func anUnavailableRegionMovesTheClientAndRewritesTheCookie() throws {
        let drained = try Self.snapshot(drain: ["eu-west"])
        let (region, decision, outcome) = try decide(drained, cookie: "gf_region=eu-west.\(Self.euWestToken)")
        #expect(region == "eu-central" && decision.reasons.region == .nearestAvailable)
        #expect(!outcome.kept && outcome.passedOver == .unavailable && outcome.setCookie == 1)
    }

    @Test func forgedCookiesAreIgnoredAndRewritten() throws {
        let snapshot = try Self.snapshot()
        let thirdToken = String(
            decoding: AffinityToken.token(key: Array(Self.key.utf8), region: "us-west"), as: UTF8.self)
        for (value, problem) in [
            ("eu-central.\(thirdToken)", AffinityTable.Problem.badSignature),
            ("eu-central.AAAAAAAAAAAAAAAAAAAAAA", .badSignature),
            ("eu-central.\(Self.euCentralOtherKeyToken)", .badSignature),
            ("mars.\(Self.euWestToken)", .unknownRegion),
        ] {
            let (region, decision, outcome) = try decide(snapshot, cookie: "gf_region=\(value)")
            #expect(region == "eu-west" && decision.reasons.region == .nearest)
            #expect(outcome.cookie == .invalid(problem) && outcome.setCookie == 0)
        }
        let explanation = snapshot.explain(
            Self.london, question: try RouteQuestion(cookies: ["gf_region=eu-central.\(thirdToken)"]))
        #expect(explanation.affinityText == "ignored: bad signature; sets gf_region=eu-west.\(Self.euWestToken)")
        #expect(explanation.json.contains(#""affinity":{"cookie":"gf_region","state":"bad_signature""#))
    }

    @Test func aPolicyThatForbidsTheRegionWinsOverTheCookie() throws {
        let cookie = "gf_region=eu-west.\(Self.euWestToken)"
        let policy = try Self.snapshot(
            policies: #"[{"name": "gb", "match": {"countries": ["GB"]}, "regions": ["eu-central", "eu-north"]}]"#)
        let (region, decision, outcome) = try decide(policy, cookie: cookie)
        #expect(region == "eu-central" && decision.reasons.policy == .applied)
        #expect(outcome.passedOver == .policyForbids && outcome.setCookie == 1)
        // A cookie for a region the policy allows keeps the client there, bias or not.
        let allowed = try Self.snapshot(
            policies: #"[{"name": "gb", "match": {"countries": ["GB"]}, "regions": ["eu-central", "eu-west"]}]"#)
        #expect(try decide(allowed, cookie: cookie).0 == "eu-west")
        // Strict, none of its regions available: 503, the cookie does not get the client out.
        let strict = try Self.snapshot(
            policies: #"[{"name": "gb", "match": {"countries": ["GB"]}, "regions": ["eu-central"], "strict": true}]"#,
            drain: ["eu-central"])
        let (_, refused, none) = try decide(strict, cookie: cookie)
        #expect(refused.action == .unavailable && refused.reasons.policy == .refused)
        #expect(none.passedOver == .policyForbids && none.setCookie == nil)
    }

    @Test func explanationsSayWhatTheCookieDid() throws {
        let snapshot = try Self.snapshot()
        let kept = snapshot.explain(
            Self.london, question: try RouteQuestion(cookies: ["gf_region=eu-central.\(Self.euCentralToken)"]))
        #expect(kept.region == "eu-central" && kept.affinityText == "eu-central (valid)")
        #expect(kept.reasonText.hasPrefix("affinity: eu-central"))
        #expect(kept.json.contains(#""state":"valid","region":"eu-central","kept":true"#))
        // Without affinity: no such part.
        let plain = try TrafficPolicyTests.snapshot(policies: "[]").explain(Self.london)
        #expect(plain.affinity == nil && plain.affinityText == nil && !plain.json.contains("affinity"))
    }

    @Test func configurationErrors() throws {
        func issues(_ affinity: String, environment: [String: String] = [:]) -> [String] {
            var reader = ConfigReader(baseDirectory: "/")
            let value = try! JSONDecoder().decode(JSONValue.self, from: Data(affinity.utf8))
            _ = AffinitySettings.read(value, reader: &reader, environment: environment)
            return reader.issues.map { "\($0.path): \($0.message)" }
        }
        #expect(issues(#"{"key_env": "GF_AFFINITY_KEY"}"#).first?.contains("GF_AFFINITY_KEY is not set") == true)
        #expect(
            issues(#"{"key_env": "GF_AFFINITY_KEY"}"#, environment: ["GF_AFFINITY_KEY": "short"]).first?.contains(
                "GF_AFFINITY_KEY is 5 characters") == true)
        #expect(issues(#"{"key_env": "GF_AFFINITY_KEY"}"#, environment: ["GF_AFFINITY_KEY": Self.key]).isEmpty)
        #expect(issues(#"{"key": "short"}"#) == ["affinity.key: is 5 characters; at least 16 are needed"])
        #expect(issues(#"{"cookie": "a"}"#) == ["affinity: needs exactly one of key or key_env"])
        #expect(
            issues(#"{"key": "\#(Self.key)", "key_env": "X"}"#) == ["affinity: needs exactly one of key or key_env"])
        #expect(issues(#"{"key": "\#(Self.key)", "cookie": "a b"}"#).first?.contains("not a cookie name") == true)
        #expect(issues(#"{"key": "\#(Self.key)", "max_age_s": 0}"#).count == 1)
        #expect(issues(#"{"key": "\#(Self.key)", "colour": 1}"#).count == 1)
        // Through the loader, with the variable unset: the error names it.
        #expect(throws: ConfigError.self) { try Self.snapshot(affinity: #"{"key_env": "GF_TEST_UNSET_AFFINITY_KEY"}"#) }
        do {
            _ = try Self.snapshot(affinity: #"{"key_env": "GF_TEST_UNSET_AFFINITY_KEY"}"#)
        } catch {
            #expect("\(error)".contains("GF_TEST_UNSET_AFFINITY_KEY"))
        }
        let custom = try #require(
            try Self.snapshot(affinity: #"{"key": "\#(Self.key)", "cookie": "region", "max_age_s": 60}"#).affinity)
        #expect(String(decoding: custom.setCookieLine(region: 1, secure: false), as: UTF8.self).contains("Max-Age=60;"))
        #expect(custom.settings.cookie == "region")
    }
}
