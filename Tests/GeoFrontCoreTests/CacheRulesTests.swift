import GeoFrontCore
import Testing

/// The RFC 9111 rules of the shared cache (sans I/O): `Cache-Control` parsing, storability,
/// freshness and age, the request-side checks, RFC 5861 and HTTP-date.
@Suite struct CacheRulesTests {
    /// `Sun, 06 Nov 1994 08:49:37 GMT`, the RFC 9110 §5.6.7 example.
    static let example = 784_111_777

    static func headers(_ fields: (String, String)...) -> CacheHeaders {
        CacheHeaders(fields.map { (name: $0.0, value: $0.1) })
    }

    // MARK: - CacheControl (RFC 9111 §5.2)

    /// RFC 9111 §5.2.2.1 / §5.2.2.10: max-age and s-maxage take delta-seconds.
    @Test func maxAgeAndSMaxAge() {
        let cc = CacheControl("max-age=60, s-maxage=120")
        #expect(cc.maxAge == 60)
        #expect(cc.sMaxAge == 120)
        #expect(!cc.hasInvalidArgument)
    }

    /// RFC 9111 §5.2: directive names are case-insensitive.
    @Test func namesAreCaseInsensitive() {
        let cc = CacheControl("MAX-AGE=5, No-Store, PUBLIC, Must-Revalidate")
        #expect(cc.maxAge == 5)
        #expect(cc.noStore)
        #expect(cc.isPublic)
        #expect(cc.mustRevalidate)
    }

    /// RFC 9111 §5.2: the quoted-string form of a token argument is accepted (`max-age="5"`).
    @Test func quotedDeltaSecondsAccepted() {
        #expect(CacheControl("max-age=\"5\"").maxAge == 5)
        #expect(CacheControl("s-maxage=\"7\", min-fresh=\"3\"").minFresh == 3)
    }

    /// RFC 9111 §5.2.2.4: no-cache without and with field names.
    @Test func noCacheForms() {
        let plain = CacheControl("no-cache")
        #expect(plain.noCache)
        #expect(plain.noCacheFields.isEmpty)
        #expect(plain.requiresRevalidation)
        let qualified = CacheControl("no-cache=\"Set-Cookie, X-Thing\"")
        #expect(!qualified.noCache)
        #expect(qualified.noCacheFields == ["set-cookie", "x-thing"])
        #expect(qualified.requiresRevalidation)
        #expect(CacheControl("no-cache=Set-Cookie").noCacheFields == ["set-cookie"])
        #expect(CacheControl("no-cache=\"\"").noCache)  // an empty list is the unqualified form
    }

    /// RFC 9111 §5.2.2.7: private without and with field names.
    @Test func privateForms() {
        #expect(CacheControl("private").isPrivate)
        let qualified = CacheControl("private=\"Authorization-Info\"")
        #expect(!qualified.isPrivate)
        #expect(qualified.privateFields == ["authorization-info"])
    }

    /// RFC 9111 §5.2.2: the boolean response directives.
    @Test func booleanResponseDirectives() {
        let cc = CacheControl("public, must-revalidate, proxy-revalidate, no-transform, must-understand, no-store")
        #expect(cc.isPublic && cc.mustRevalidate && cc.proxyRevalidate)
        #expect(cc.noTransform && cc.mustUnderstand && cc.noStore)
        #expect(!cc.noCache && !cc.isPrivate && !cc.onlyIfCached)
    }

    /// RFC 9111 §5.2.1.2: max-stale with and without a value.
    @Test func maxStaleForms() {
        #expect(CacheControl("max-stale").maxStale == .any)
        #expect(CacheControl("max-stale=30").maxStale == .seconds(30))
        #expect(CacheControl("max-stale=abc").maxStale == nil)  // invalid: ignored (most restrictive)
    }

    /// RFC 9111 §5.2.1.3 / §5.2.1.7: min-fresh and only-if-cached.
    @Test func minFreshAndOnlyIfCached() {
        let cc = CacheControl("min-fresh=20, only-if-cached")
        #expect(cc.minFresh == 20)
        #expect(cc.onlyIfCached)
    }

    /// RFC 5861 §3 / §4: stale-while-revalidate and stale-if-error.
    @Test func rfc5861Directives() {
        let cc = CacheControl("max-age=600, stale-while-revalidate=30, stale-if-error=86400")
        #expect(cc.staleWhileRevalidate == 30)
        #expect(cc.staleIfError == 86_400)
    }

    /// RFC 9111 §4.2.1: an invalid max-age (non-integer) makes the response stale: 0.
    @Test func invalidMaxAgeIsStale() {
        for value in ["max-age=abc", "max-age=-1", "max-age=1.5", "max-age", "max-age=", "max-age=5x", "max-age=\"5"] {
            let cc = CacheControl(value)
            #expect(cc.maxAge == 0, "\(value)")
            #expect(cc.hasInvalidArgument, "\(value)")
        }
        #expect(CacheControl("s-maxage=soon").sMaxAge == 0)
    }

    /// RFC 9111 §4.2.1: with duplicate directives the first occurrence is used.
    @Test func duplicatesUseFirstOccurrence() {
        #expect(CacheControl("max-age=10, max-age=1000").maxAge == 10)
        #expect(CacheControl("s-maxage=3", "s-maxage=9").sMaxAge == 3)
        #expect(CacheControl("stale-if-error=1, stale-if-error=2").staleIfError == 1)
    }

    /// RFC 9111 §4.2.1: the first occurrence is used even when it is the invalid one (then stale).
    @Test func invalidFirstOccurrenceWins() {
        #expect(CacheControl("max-age=abc, max-age=60").maxAge == 0)
        #expect(CacheControl("min-fresh=x, min-fresh=5").minFresh == 5)  // invalid min-fresh is dropped
    }

    /// RFC 9111 §4.2.1: conflicting directives: the most restrictive is honoured.
    @Test func conflictsMostRestrictive() {
        let response = Self.headers(("Cache-Control", "public, private, max-age=60"))
        #expect(Self.storable(response) == .notStorable(.responsePrivate))
        #expect(Self.verdict("", "max-age=60, no-cache", age: 0) == .revalidate(.responseNoCache))
    }

    /// RFC 9111 §5.2.2.4: field names in a qualified list may be separated by commas and whitespace.
    @Test func fieldListSeparators() {
        #expect(CacheControl("private=\"a ,B\tc\"").privateFields == ["a", "b", "c"])
        #expect(CacheControl("no-cache=\"a;b\"").hasInvalidArgument)
        #expect(CacheControl("no-cache=\"a;b\"").noCache)  // an invalid list counts as unqualified
    }

    /// RFC 9111 §1.2.2: delta-seconds too large saturate at 2^31.
    @Test func hugeDeltaSecondsSaturate() {
        #expect(CacheControl("max-age=99999999999999999999999").maxAge == 2_147_483_648)
    }

    /// RFC 9110 §5.3: several Cache-Control field lines combine into one list.
    @Test func fieldLinesCombine() {
        let cc = CacheControl(fieldValues: [Array("max-age=5".utf8), Array("no-transform, private".utf8)])
        #expect(cc.maxAge == 5 && cc.noTransform && cc.isPrivate)
        let headers = Self.headers(("Cache-Control", "public"), ("cache-control", "s-maxage=9"))
        #expect(headers.cacheControl.isPublic && headers.cacheControl.sMaxAge == 9)
    }

    /// RFC 9111 §5.2.3: unknown extension directives are ignored, quoted commas included.
    @Test func extensionsIgnored() {
        let cc = CacheControl("community=\"UCI, x\", max-age=7, immutable, , foo=bar")
        #expect(cc.maxAge == 7)
        #expect(!cc.hasInvalidArgument)
    }

    /// RFC 9111 §5.2: whitespace around list members and `=` is tolerated; garbage members are skipped.
    @Test func whitespaceAndGarbage() {
        let cc = CacheControl("  max-age = 5 ,\tno-store ,  \"junk\", public")
        #expect(cc.maxAge == 5 && cc.noStore && cc.isPublic)
        #expect(cc.hasInvalidArgument)
    }

    /// RFC 9110 §5.6.4: quoted-pairs inside a quoted field list.
    @Test func quotedPairs() {
        #expect(CacheControl("no-cache=\"a\\-b\"").noCacheFields == ["a-b"])
    }

    // MARK: - HTTP-date (RFC 9110 §5.6.7)

    /// RFC 9110 §5.6.7: the three formats of the same instant.
    @Test func httpDateFormats() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == Self.example)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == Self.example)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == Self.example)
        #expect(HTTPDate.parse("Wednesday, 09-Nov-94 08:49:37 GMT") == Self.example + 3 * 86_400)
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.parse("Tue, 29 Feb 2000 23:59:59 GMT") == 951_868_799)
    }

    /// RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past century.
    @Test func rfc850TwoDigitYear() {
        let now2026 = HTTPDate.parse("Sat, 05 Dec 2026 00:00:00 GMT")!
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: now2026) == Self.example)
        let in2030 = HTTPDate.parse("Fri, 01 Feb 2030 00:00:00 GMT")
        #expect(HTTPDate.parse("Friday, 01-Feb-30 00:00:00 GMT", now: now2026) == in2030)
    }

    /// RFC 9110 §5.6.7: invalid dates are refused.
    @Test(arguments: [
        "0", "", "-1", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 N0v 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun,  6 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994", "Sun, 06 Nov 1994 08:61:37 GMT", "Sun, 06 Nov 1994 08:49:37 G\u{0D}T",
        "Sun, 06 Nov 1994 08:49:37 GM", "Sun, 06 Nov 1994 08:49:37 GMTZ",
    ])
    func invalidDates(_ text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    /// RFC 9110 §5.6.7: whitespace around the value is tolerated; a leap second is accepted.
    @Test func httpDateLeniency() {
        #expect(HTTPDate.parse("  Sun, 06 Nov 1994 08:49:37 GMT ") == Self.example)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:60 GMT") == Self.example + 23)
    }

    /// Names in another case are read as meant (the public cache tests' "optimal" `Expires` cases).
    @Test func httpDateNamesInAnyCase() {
        #expect(HTTPDate.parse("SUN, 06 Nov 1994 08:49:37 GMT") == Self.example)
        #expect(HTTPDate.parse("Sun, 06 NOV 1994 08:49:37 GMT") == Self.example)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 gMT") == Self.example)
        #expect(HTTPDate.parse("SUNDAY, 06-nov-94 08:49:37 gmt") == Self.example)
        #expect(HTTPDate.parse("sun nov  6 08:49:37 1994") == Self.example)
    }

    /// RFC 9110 §5.6.7: the IMF-fixdate output round-trips.
    @Test func httpDateFormat() {
        #expect(HTTPDate.formatString(Self.example) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.formatString(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.formatString(951_868_799) == "Tue, 29 Feb 2000 23:59:59 GMT")
        for seconds in stride(from: 0, to: 4_000_000_000, by: 7_777_777) {
            #expect(HTTPDate.parse(HTTPDate.format(seconds)) == seconds)
        }
    }

    // MARK: - Storability (RFC 9111 §3)

    static func storable(
        method: String = "GET", request: CacheHeaders = CacheHeaders(), status: Int = 200, _ response: CacheHeaders
    ) -> CacheStorability.Verdict {
        CacheStorability.verdict(method: method, request: request, status: status, response: response)
    }

    /// RFC 9111 §3: a GET response with explicit freshness is storable.
    @Test func explicitFreshnessStorable() {
        #expect(Self.storable(Self.headers(("Cache-Control", "max-age=60"))) == .storable)
        #expect(Self.storable(Self.headers(("Cache-Control", "s-maxage=60"))) == .storable)
        #expect(Self.storable(Self.headers(("Expires", "Sun, 06 Nov 1994 08:49:37 GMT"))) == .storable)
        #expect(Self.storable(Self.headers(("Expires", "0"))) == .storable)  // stored, already stale
    }

    /// RFC 9111 §3: the method must be understood and cacheable; only GET is stored.
    @Test func onlyGETStored() {
        let response = Self.headers(("Cache-Control", "max-age=60"))
        for method in ["HEAD", "POST", "PUT", "DELETE", "get"] {
            #expect(Self.storable(method: method, response) == .notStorable(.method), "\(method)")
        }
    }

    /// RFC 9111 §3: the status must be final; 206 and 304 are not stored by this cache.
    @Test func finalUnderstoodStatus() {
        let response = Self.headers(("Cache-Control", "max-age=60"))
        #expect(Self.storable(status: 100, response) == .notStorable(.statusNotFinal))
        #expect(Self.storable(status: 206, response) == .notStorable(.statusNotUnderstood))
        #expect(Self.storable(status: 304, response) == .notStorable(.statusNotUnderstood))
        #expect(Self.storable(status: 500, response) == .storable)  // explicit freshness on any final status
    }

    /// RFC 9111 §5.2.1.5 / §5.2.2.5: no-store in the request or response forbids storing.
    @Test func noStoreForbids() {
        let request = Self.headers(("Cache-Control", "no-store"))
        #expect(
            Self.storable(request: request, Self.headers(("Cache-Control", "max-age=60")))
                == .notStorable(.requestNoStore))
        #expect(
            Self.storable(Self.headers(("Cache-Control", "max-age=60, no-store"))) == .notStorable(.responseNoStore))
    }

    /// RFC 9111 §5.2.2.3: must-understand with an understood status overrides no-store; otherwise not stored.
    @Test func mustUnderstand() {
        let response = Self.headers(("Cache-Control", "must-understand, no-store, max-age=60"))
        #expect(Self.storable(response) == .storable)
        #expect(Self.storable(status: 299, response) == .notStorable(.statusNotUnderstood))
    }

    /// RFC 9111 §5.2.2.7: unqualified private stops a shared cache; qualified private does not.
    @Test func privateForbidsSharedCache() {
        #expect(Self.storable(Self.headers(("Cache-Control", "private, max-age=60"))) == .notStorable(.responsePrivate))
        #expect(Self.storable(Self.headers(("Cache-Control", "private=\"x-user\", max-age=60"))) == .storable)
    }

    /// RFC 9111 §3.5: a request with Authorization is stored only with public, s-maxage or must-revalidate.
    @Test func authorizationRules() {
        let request = Self.headers(("Authorization", "Bearer x"))
        #expect(
            Self.storable(request: request, Self.headers(("Cache-Control", "max-age=60")))
                == .notStorable(.authorization))
        #expect(Self.storable(request: request, Self.headers(("Cache-Control", "public, max-age=60"))) == .storable)
        #expect(Self.storable(request: request, Self.headers(("Cache-Control", "s-maxage=60"))) == .storable)
        #expect(
            Self.storable(request: request, Self.headers(("Cache-Control", "must-revalidate, max-age=60"))) == .storable
        )
    }

    /// RFC 9111 §4.1: `Vary: *` never matches, so such a response is not stored.
    @Test func varyStarNotStored() {
        let response = Self.headers(("Cache-Control", "max-age=60"), ("Vary", "Accept-Encoding, *"))
        #expect(Self.storable(response) == .notStorable(.varyStar))
        #expect(Self.storable(Self.headers(("Cache-Control", "max-age=60"), ("Vary", "Accept"))) == .storable)
    }

    /// Issue 17: a response with Set-Cookie is stored only when public.
    @Test func setCookieNeedsPublic() {
        #expect(
            Self.storable(Self.headers(("Cache-Control", "max-age=60"), ("Set-Cookie", "a=b")))
                == .notStorable(.setCookie))
        #expect(
            Self.storable(Self.headers(("Cache-Control", "public, max-age=60"), ("Set-Cookie", "a=b"))) == .storable)
    }

    /// RFC 9111 §3, §4.2.2: without explicit freshness a heuristically cacheable status with a validator is storable.
    @Test func heuristicStorability() {
        let lastModified = ("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(Self.storable(Self.headers(lastModified)) == .storable)
        #expect(Self.storable(status: 404, Self.headers(("ETag", "\"x\""))) == .storable)
        #expect(Self.storable(status: 302, Self.headers(lastModified)) == .notStorable(.noFreshnessOrValidator))
        #expect(Self.storable(status: 302, Self.headers(lastModified, ("Cache-Control", "public"))) == .storable)
        #expect(Self.storable(Self.headers()) == .notStorable(.noFreshnessOrValidator))
        for status in [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501] {
            #expect(Self.storable(status: status, Self.headers(("ETag", "\"x\""))) == .storable, "\(status)")
        }
    }

    // MARK: - Freshness lifetime (RFC 9111 §4.2.1, §4.2.2)

    static func lifetime(_ response: CacheHeaders, status: Int = 200, responseTime: Int = example)
        -> Freshness.Lifetime
    {
        Freshness.lifetime(response: response, status: status, responseTime: responseTime)
    }

    /// RFC 9111 §4.2.1: s-maxage wins over max-age for a shared cache, max-age over Expires.
    @Test func lifetimePrecedence() {
        let all = Self.headers(
            ("Cache-Control", "max-age=60, s-maxage=120"), ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("Expires", "Sun, 06 Nov 1994 09:49:37 GMT"))
        #expect(Self.lifetime(all) == Freshness.Lifetime(seconds: 120, source: .sMaxAge))
        var noShared = all
        noShared.cacheControl.sMaxAge = nil
        #expect(Self.lifetime(noShared) == Freshness.Lifetime(seconds: 60, source: .maxAge))
        noShared.cacheControl.maxAge = nil
        #expect(Self.lifetime(noShared) == Freshness.Lifetime(seconds: 3600, source: .expires))
    }

    /// RFC 9111 §4.2.1: Expires minus Date; Expires before Date gives 0; no Date uses response_time.
    @Test func expiresMinusDate() {
        let past = Self.headers(("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Expires", "Sun, 06 Nov 1994 08:00:00 GMT"))
        #expect(Self.lifetime(past).seconds == 0)
        let noDate = Self.headers(("Expires", "Sun, 06 Nov 1994 08:50:37 GMT"))
        #expect(Self.lifetime(noDate, responseTime: Self.example + 10).seconds == 50)
    }

    /// RFC 9111 §5.3: an invalid Expires (e.g. "0") means already expired.
    @Test func invalidExpiresIsExpired() {
        let response = Self.headers(("Expires", "0"))
        #expect(response.expires == .invalid)
        #expect(Self.lifetime(response) == Freshness.Lifetime(seconds: 0, source: .expires))
        // max-age still wins over an invalid Expires (§5.3)
        #expect(Self.lifetime(Self.headers(("Expires", "0"), ("Cache-Control", "max-age=5"))).seconds == 5)
    }

    /// RFC 9111 §4.2.2: heuristic freshness is 10 % of Date − Last-Modified, capped at one day.
    @Test func heuristicLifetime() {
        let tenHours = Self.headers(
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Last-Modified", "Sat, 05 Nov 1994 22:49:37 GMT"))
        #expect(Self.lifetime(tenHours) == Freshness.Lifetime(seconds: 3600, source: .heuristic))
        let old = Self.headers(
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Last-Modified", "Thu, 01 Jan 1970 00:00:00 GMT"))
        #expect(Self.lifetime(old) == Freshness.Lifetime(seconds: 86_400, source: .heuristic))
        #expect(Freshness.lifetime(response: old, status: 200, responseTime: 0, heuristicCap: 600).seconds == 600)
        // not heuristically cacheable, not public: no heuristic
        #expect(Self.lifetime(tenHours, status: 302) == Freshness.Lifetime(seconds: 0, source: .none))
        #expect(Self.lifetime(Self.headers()) == Freshness.Lifetime(seconds: 0, source: .none))
    }

    /// RFC 9111 §4.2.1: an invalid max-age makes the response stale (lifetime 0).
    @Test func invalidMaxAgeLifetimeZero() {
        let response = Self.headers(("Cache-Control", "max-age=ten"), ("Expires", "Sun, 06 Nov 1994 09:49:37 GMT"))
        #expect(Self.lifetime(response) == Freshness.Lifetime(seconds: 0, source: .maxAge))
    }

    /// RFC 9111 §4.2.1: for repeated single-valued fields the first occurrence is used.
    @Test func firstExpiresAndDateUsed() {
        let response = Self.headers(
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Date", "Sun, 06 Nov 1994 00:00:00 GMT"),
            ("Expires", "Sun, 06 Nov 1994 08:50:37 GMT"), ("Expires", "Sun, 06 Nov 1994 10:00:00 GMT"))
        #expect(Self.lifetime(response).seconds == 60)
    }

    // MARK: - Age (RFC 9111 §4.2.3, §5.1)

    /// RFC 9111 §4.2.3: worked numbers. request_time 1000, response_time 1002, Date 998, Age 10:
    /// apparent_age = max(0, 1002 − 998) = 4; response_delay = 2; corrected_age_value = 10 + 2 = 12;
    /// corrected_initial_age = max(4, 12) = 12; at now 1100 resident_time = 98, current_age = 110.
    @Test func ageCalculationAgeHeaderDominates() {
        let inputs = Freshness.AgeInputs(ageValue: 10, dateValue: 998, requestTime: 1000, responseTime: 1002)
        #expect(inputs.correctedInitialAge == 12)
        #expect(inputs.currentAge(now: 1100) == 110)
        #expect(inputs.currentAge(now: 1002) == 12)
    }

    /// RFC 9111 §4.2.3: when the Date is far behind, apparent_age dominates: Date 900 →
    /// apparent_age = 102 > corrected_age_value 12; at now 1100 current_age = 102 + 98 = 200.
    @Test func ageCalculationApparentAgeDominates() {
        let inputs = Freshness.AgeInputs(ageValue: 10, dateValue: 900, requestTime: 1000, responseTime: 1002)
        #expect(inputs.correctedInitialAge == 102)
        #expect(inputs.currentAge(now: 1100) == 200)
    }

    /// RFC 9111 §4.2.3: a Date in the future (clock skew) gives apparent_age 0, not negative.
    @Test func ageCalculationFutureDate() {
        let inputs = Freshness.AgeInputs(ageValue: 0, dateValue: 5000, requestTime: 1000, responseTime: 1000)
        #expect(inputs.correctedInitialAge == 0)
        #expect(inputs.currentAge(now: 1030) == 30)
    }

    /// RFC 9111 §5.1: Age is delta-seconds; an invalid Age (negative) is ignored; a list on one line
    /// counts as its first member, as the first of several lines does.
    @Test func ageHeaderParsing() {
        #expect(Self.headers(("Age", "42")).age == 42)
        #expect(Self.headers(("Age", "1, 2")).age == 1)
        #expect(Self.headers(("Age", "-3")).age == nil)
        let inputs = Freshness.AgeInputs(
            response: Self.headers(("Age", "x"), ("Date", "Thu, 01 Jan 1970 00:16:40 GMT")), requestTime: 1000,
            responseTime: 1000)
        #expect(inputs == Freshness.AgeInputs(ageValue: 0, dateValue: 1000, requestTime: 1000, responseTime: 1000))
    }

    /// RFC 9111 §5.1: the Age output is delta-seconds, never negative, capped at 2^31.
    @Test func ageFieldValue() {
        #expect(Freshness.ageFieldValue(110) == "110")
        #expect(Freshness.ageFieldValue(-5) == "0")
        #expect(Freshness.ageFieldValue(Int.max) == "2147483648")
    }

    /// RFC 9111 §4.2: fresh while freshness_lifetime > current_age.
    @Test func isFreshBoundary() {
        #expect(Freshness.isFresh(lifetime: 60, currentAge: 59))
        #expect(!Freshness.isFresh(lifetime: 60, currentAge: 60))
        #expect(!Freshness.isFresh(lifetime: 0, currentAge: 0))
    }

    // MARK: - Request checks and serving stale (RFC 9111 §4.2.4, §5.2.1; RFC 5861)

    static func verdict(
        _ request: String = "", _ response: String = "", lifetime: Int = 60, age: Int, swr: Int = 0
    ) -> Freshness.Verdict {
        Freshness.verdict(
            request: CacheControl(request), response: CacheControl(response), lifetime: lifetime, currentAge: age,
            defaultStaleWhileRevalidate: swr)
    }

    /// RFC 9111 §4.2: a fresh response is served; a stale one is revalidated.
    @Test func freshAndStale() {
        #expect(Self.verdict(age: 10) == .fresh)
        #expect(Self.verdict(age: 60) == .revalidate(.stale))
    }

    /// RFC 9111 §5.2.1.1: request max-age limits the acceptable age.
    @Test func requestMaxAge() {
        #expect(Self.verdict("max-age=20", age: 10) == .fresh)
        #expect(Self.verdict("max-age=5", age: 10) == .revalidate(.requestMaxAge))
        #expect(Self.verdict("max-age=0", age: 1) == .revalidate(.requestMaxAge))
        #expect(Self.verdict("max-age=oops", age: 1) == .revalidate(.requestMaxAge))  // invalid → 0
    }

    /// RFC 9111 §5.2.1.3: min-fresh requires that much remaining freshness.
    @Test func requestMinFresh() {
        #expect(Self.verdict("min-fresh=30", age: 20) == .fresh)  // 40 left
        #expect(Self.verdict("min-fresh=50", age: 20) == .revalidate(.requestMinFresh))
    }

    /// RFC 9111 §5.2.1.2: max-stale accepts stale responses (any, or up to a bound).
    @Test func requestMaxStale() {
        #expect(Self.verdict("max-stale", age: 10_000) == .staleAllowed)
        #expect(Self.verdict("max-stale=30", age: 90) == .staleAllowed)
        #expect(Self.verdict("max-stale=30", age: 91) == .revalidate(.stale))
    }

    /// RFC 9111 §5.2.1.4: request no-cache always revalidates, even a fresh response.
    @Test func requestNoCache() {
        #expect(Self.verdict("no-cache", age: 0) == .revalidate(.requestNoCache))
    }

    /// RFC 9111 §5.2.2.4: response no-cache (either form) requires revalidation on every use.
    @Test func responseNoCache() {
        #expect(Self.verdict("", "no-cache, max-age=60", age: 0) == .revalidate(.responseNoCache))
        #expect(Self.verdict("", "no-cache=\"set-cookie\"", age: 0) == .revalidate(.responseNoCache))
    }

    /// RFC 9111 §5.2.2.2 / §5.2.2.8 / §5.2.2.10: must-revalidate, proxy-revalidate and s-maxage forbid stale.
    @Test func revalidateDirectivesForbidStale() {
        for response in ["must-revalidate", "proxy-revalidate", "s-maxage=60"] {
            #expect(Self.verdict("max-stale", response, age: 61) == .revalidate(.staleForbidden), "\(response)")
            #expect(
                Self.verdict("", response + ", stale-while-revalidate=100", age: 61) == .revalidate(.staleForbidden))
            #expect(Self.verdict("", response, age: 10) == .fresh)
        }
    }

    /// RFC 9111 §5.2.1.7: only-if-cached answers from the cache or not at all (504).
    @Test func onlyIfCached() {
        #expect(Self.verdict("only-if-cached", age: 10) == .fresh)
        #expect(Self.verdict("only-if-cached", age: 100) == .unsatisfiable)
        #expect(Self.verdict("only-if-cached, max-stale", age: 100) == .staleAllowed)
    }

    /// RFC 5861 §3: stale-while-revalidate serves stale within its window; the config default applies otherwise.
    @Test func staleWhileRevalidate() {
        #expect(Self.verdict("", "max-age=60, stale-while-revalidate=30", age: 90) == .staleWhileRevalidate)
        #expect(Self.verdict("", "max-age=60, stale-while-revalidate=30", age: 91) == .revalidate(.stale))
        #expect(Self.verdict("", "max-age=60", age: 70, swr: 10) == .staleWhileRevalidate)
        #expect(Self.verdict("", "max-age=60", age: 60, swr: 0) == .revalidate(.stale))
        #expect(Self.verdict("", "max-age=60, stale-while-revalidate=0", age: 70, swr: 10) == .revalidate(.stale))
        #expect(Self.verdict("max-age=5", "stale-while-revalidate=30", age: 70) == .revalidate(.requestMaxAge))
    }

    /// RFC 5861 §4: stale-if-error windows (request, then response, then config default); revalidate directives win.
    @Test func staleIfError() {
        func allowed(_ request: String, _ response: String, age: Int, fallback: Int = 0) -> Bool {
            Freshness.mayServeStaleOnError(
                request: CacheControl(request), response: CacheControl(response), lifetime: 60, currentAge: age,
                defaultWindow: fallback)
        }
        #expect(allowed("", "stale-if-error=100", age: 160))
        #expect(!allowed("", "stale-if-error=100", age: 161))
        #expect(allowed("stale-if-error=200", "stale-if-error=100", age: 200))
        #expect(!allowed("stale-if-error=5", "stale-if-error=100", age: 100))
        #expect(allowed("", "", age: 70, fallback: 10))
        #expect(!allowed("", "", age: 71, fallback: 10))
        #expect(!allowed("", "", age: 60))  // stale by 0 s, no window
        #expect(allowed("", "", age: 59))  // still fresh
        #expect(!allowed("", "must-revalidate, stale-if-error=100", age: 70))
        #expect(!allowed("", "s-maxage=60, stale-if-error=100", age: 70))
        #expect(!allowed("", "no-cache, stale-if-error=100", age: 70))
    }

    /// RFC 9111 §4.2.3 + §4.2.1 end to end: from headers to a verdict.
    @Test func endToEnd() {
        let response = Self.headers(
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Age", "30"), ("Cache-Control", "max-age=100"))
        let lifetime = Freshness.lifetime(response: response, status: 200, responseTime: Self.example + 1)
        let inputs = Freshness.AgeInputs(response: response, requestTime: Self.example, responseTime: Self.example + 1)
        #expect(inputs.correctedInitialAge == 31)
        let age = inputs.currentAge(now: Self.example + 60)
        #expect(age == 90)
        #expect(
            Freshness.verdict(
                request: CacheControl(), response: response.cacheControl, lifetime: lifetime.seconds, currentAge: age)
                == .fresh)
        #expect(
            Freshness.verdict(
                request: CacheControl(), response: response.cacheControl, lifetime: lifetime.seconds,
                currentAge: inputs.currentAge(now: Self.example + 71)) == .revalidate(.stale))
    }
}
