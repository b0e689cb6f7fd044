import Foundation
import GeoFrontCore
import GeoFrontServer
import Logging
import TestSupport
import Testing

/// A ``CacheRig`` with the admin listener (no token) on the same server.
final class AdminCacheRig {
    let rig: CacheRig
    let admin: AdminServer
    let adminPort: Int

    init(cache: [String: Any] = [:], extra: [String: Any] = [:]) async throws {
        rig = try await CacheRig(cache: cache, extra: extra)
        var logger = Logger(label: "geofront-admin-cache-test")
        logger.logLevel = .critical
        admin = try await AdminServer.start(
            listen: HostPort(host: "127.0.0.1", port: 0), token: nil, server: rig.server, checker: nil,
            reloader: nil, logger: logger)
        adminPort = admin.localAddress!.port!
    }

    var origin: CacheOrigin { rig.origin }

    func get(_ path: String) async throws -> RawHTTPResponse { try await rig.get(path) }

    /// An admin request (with a body when `body` is given).
    func admin(_ method: String, _ path: String, body: String = "") async throws -> RawHTTPResponse {
        let port = adminPort
        return try await offThePool {
            let client = try RawHTTPClient(port: port)
            return try client.exchange(
                "\(method) \(path) HTTP/1.1\r\nHost: admin\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        }
    }

    func adminJSON(_ method: String, _ path: String, body: String = "") async throws -> [String: Any] {
        let response = try await admin(method, path, body: body)
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    /// `POST /cache/purge` with `body`: the count purged.
    func purge(_ body: String) async throws -> Int? {
        let answer = try await adminJSON("POST", "/cache/purge", body: body)
        return answer["purged"] as? Int
    }

    /// `GET /cache`'s `requests` counts.
    func requests() async throws -> [String: Int] {
        (try await adminJSON("GET", "/cache")["requests"] as? [String: Int]) ?? [:]
    }

    func stop() async throws {
        await admin.stop()
        try await rig.stop()
    }
}

/// The cache's admin endpoints (`GET`/`DELETE /cache`, `POST /cache/purge`), its status page
/// line and its metrics.
@Suite(.timeLimit(.minutes(5))) struct AdminCacheTests {
    static let fresh = ("Cache-Control", "max-age=600")

    /// `/p/a` tagged `product-42 catalog` (Surrogate-Key), `/p/b` tagged `a,b` (Cache-Tag),
    /// `/q/c` untagged, each fetched once (three misses, three entries).
    static func stored() async throws -> AdminCacheRig {
        let rig = try await AdminCacheRig()
        rig.origin.set("/p/a", .init(headers: [fresh, ("Surrogate-Key", "product-42 catalog")], body: "alpha"))
        rig.origin.set("/p/b", .init(headers: [fresh, ("Cache-Tag", "a,b")], body: "bravo"))
        rig.origin.set("/q/c", .init(headers: [fresh], body: "charlie"))
        for path in ["/p/a", "/p/b", "/q/c"] {
            let response = try await rig.get(path)
            #expect(response.status == 200)
            #expect(response.cacheStatus == "GeoFront; fwd=uri-miss; fwd-status=200; stored")
            #expect(response.header("surrogate-key") == nil)
            #expect(response.header("cache-tag") == nil)
        }
        try await waitUntil("three misses counted") { try await rig.requests()["miss"] == 3 }
        return rig
    }

    @Test func getCacheShowsSizeEntriesAndCounts() async throws {
        let rig = try await Self.stored()
        let hit = try await rig.get("/p/a")
        #expect(hit.cacheStatus.hasPrefix("GeoFront; hit; ttl="))
        #expect(hit.header("surrogate-key") == nil)
        try await waitUntil("one hit counted") { try await rig.requests()["hit"] == 1 }
        let answer = try await rig.admin("GET", "/cache")
        #expect(answer.status == 200)
        #expect(answer.header("content-type") == "application/json")
        let cache = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any] ?? [:]
        #expect(cache["enabled"] as? Bool == true)
        #expect(cache["memory_bytes"] as? Int == 256 * 1_048_576)
        #expect(cache["entries"] as? Int == 3)
        #expect((cache["bytes"] as? Int ?? 0) > "alphabravocharlie".utf8.count)
        #expect(cache["evictions"] as? Int == 0)
        #expect(cache["not_admitted"] as? Int == 0)
        #expect(
            cache["requests"] as? [String: Int] == ["hit": 1, "miss": 3, "stale": 0, "revalidated": 0, "bypass": 0])
        #expect(cache["hit_ratio"] as? Double == 0.25)

        let page = String(decoding: try await rig.admin("GET", "/").body, as: UTF8.self)
        #expect(page.contains("response cache: 3 entries"))
        #expect(page.contains("of 256.0 MiB, hit ratio 25% of 4 lookups"))
        try await rig.stop()
    }

    @Test func purgeByURLRemovesThatURLOnly() async throws {
        let rig = try await Self.stored()
        // Written differently from the request, normalised the same way: scheme and host in
        // capitals, the default port.
        #expect(try await rig.purge(#"{"url": "HTTP://Cache.Example:80/p/a"}"#) == 1)
        let again = try await rig.get("/p/a")
        #expect(again.text == "alpha")
        #expect(again.cacheStatus == "GeoFront; fwd=uri-miss; fwd-status=200; stored")
        #expect(rig.origin.count("/p/a") == 2)
        let other = try await rig.get("/p/b")
        #expect(other.cacheStatus.hasPrefix("GeoFront; hit"))
        #expect(rig.origin.count("/p/b") == 1)
        #expect(try await rig.purge(#"{"url": "http://cache.example/nothing-here"}"#) == 0)
        try await rig.stop()
    }

    @Test func purgeByPrefixRemovesEverythingUnderIt() async throws {
        let rig = try await Self.stored()
        #expect(try await rig.purge(#"{"prefix": "http://cache.example/p/"}"#) == 2)
        #expect(try await rig.get("/p/a").cacheStatus.contains("fwd=uri-miss"))
        #expect(try await rig.get("/p/b").cacheStatus.contains("fwd=uri-miss"))
        #expect(try await rig.get("/q/c").cacheStatus.hasPrefix("GeoFront; hit"))
        #expect(rig.origin.count("/p/a") == 2)
        #expect(rig.origin.count("/p/b") == 2)
        #expect(rig.origin.count("/q/c") == 1)
        try await rig.stop()
    }

    @Test func purgeByTagFromSurrogateKeyAndCacheTag() async throws {
        let rig = try await Self.stored()
        #expect(try await rig.purge(#"{"tag": "product-42"}"#) == 1)
        #expect(try await rig.purge(#"{"tag": "catalog"}"#) == 0)  // the same entry, gone already
        #expect(try await rig.purge(#"{"tag": "b"}"#) == 1)
        #expect(try await rig.purge(#"{"tag": "a"}"#) == 0)
        let entries = try await rig.adminJSON("GET", "/cache")["entries"] as? Int
        #expect(entries == 1)
        let refetched = try await rig.get("/p/a")
        #expect(refetched.cacheStatus.contains("fwd=uri-miss"))
        #expect(refetched.header("surrogate-key") == nil)
        #expect(try await rig.get("/p/b").cacheStatus.contains("fwd=uri-miss"))
        #expect(try await rig.get("/q/c").cacheStatus.hasPrefix("GeoFront; hit"))
        // Stored again with their tags.
        #expect(try await rig.purge(#"{"tag": "catalog"}"#) == 1)
        #expect(try await rig.purge(#"{"tag": "a"}"#) == 1)
        try await rig.stop()
    }

    @Test func deleteEmptiesTheCache() async throws {
        let rig = try await Self.stored()
        let answer = try await rig.admin("DELETE", "/cache")
        #expect(answer.status == 200)
        #expect(String(decoding: answer.body, as: UTF8.self) == "{\"removed\":3}\n")
        let cache = try await rig.adminJSON("GET", "/cache")
        #expect(cache["entries"] as? Int == 0)
        #expect(cache["bytes"] as? Int == 0)
        #expect(try await rig.get("/q/c").cacheStatus.contains("fwd=uri-miss"))
        #expect(rig.origin.count("/q/c") == 2)
        try await rig.stop()
    }

    @Test func badPurgeBodiesGet400WithTheReason() async throws {
        let rig = try await AdminCacheRig()
        let cases: [(body: String, reason: String)] = [
            ("", "send a JSON object with exactly one of url, prefix or tag"),
            ("not json", "the body is not valid JSON"),
            (#"["http://cache.example/"]"#, "expected an object with exactly one of url, prefix or tag, not an array"),
            ("{}", "give exactly one of url, prefix or tag (got none)"),
            (#"{"url": "http://a.example/", "tag": "t"}"#, "give exactly one of url, prefix or tag (got url and tag)"),
            (#"{"colour": "red"}"#, #"unknown key "colour""#),
            (#"{"url": 5}"#, "url must be a string, not a number"),
            (#"{"tag": ["a"]}"#, "tag must be a string, not an array"),
            (#"{"tag": ""}"#, "tag must not be empty"),
            (#"{"tag": "a b"}"#, "tag must be one tag"),
            (#"{"url": "/p/a"}"#, #"url "/p/a": not an absolute URL"#),
            (#"{"url": "ftp://cache.example/a"}"#, "the scheme must be http or https"),
            (#"{"prefix": "http:///a"}"#, #"prefix "http:///a": no host"#),
            (#"{"url": "http://cache.example:99999/a"}"#, "the port must be a number from 1 to 65535"),
            (#"{"url": "http://user@cache.example/a"}"#, "user information"),
            (#"{"url": "http://cache.example/a b"}"#, "contains a space"),
            (#"{"url": "http://cache.example/a#top"}"#, "a fragment"),
        ]
        for (body, reason) in cases {
            let answer = try await rig.admin("POST", "/cache/purge", body: body)
            let error = (try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["error"]
            #expect(answer.status == 400, "\(body)")
            #expect((error as? String)?.contains(reason) == true, "\(body): \(error ?? "no error")")
        }
        #expect(try await rig.admin("GET", "/cache/purge").status == 405)
        #expect(try await rig.admin("PUT", "/cache").status == 405)
        #expect(try await rig.admin("POST", "/cache").status == 405)
        #expect(try await rig.admin("GET", "/cache/other").status == 404)
        try await rig.stop()
    }

    @Test func withoutACacheTheEndpointsSaySo() async throws {
        let rig = try await AdminCacheRig(extra: ["cache": NSNull()])
        rig.origin.set("/a", .init(headers: [Self.fresh], body: "alpha"))
        #expect(try await rig.get("/a").header("cache-status") == nil)
        let answer = try await rig.admin("GET", "/cache")
        #expect(answer.status == 200)
        #expect(String(decoding: answer.body, as: UTF8.self) == "{\"enabled\":false}\n")
        #expect(try await rig.admin("DELETE", "/cache").status == 409)
        #expect(try await rig.admin("POST", "/cache/purge", body: #"{"tag": "t"}"#).status == 409)
        let page = String(decoding: try await rig.admin("GET", "/").body, as: UTF8.self)
        #expect(!page.contains("response cache"))
        try await rig.stop()
    }

    @Test func metricsShowTheCacheSeries() async throws {
        let rig = try await AdminCacheRig()
        rig.origin.set("/a", .init(headers: [Self.fresh], body: "alpha"))
        _ = try await rig.get("/a")
        #expect(try await rig.get("/a").cacheStatus.hasPrefix("GeoFront; hit"))
        _ = try await rig.rig.request("/a", method: "DELETE")
        try await waitUntil("a hit, a miss and a bypass counted") {
            try await rig.requests() == ["hit": 1, "miss": 1, "stale": 0, "revalidated": 0, "bypass": 1]
        }
        let text = String(decoding: try await rig.admin("GET", "/metrics").body, as: UTF8.self)
        let lines = text.split(separator: "\n").map(String.init)
        func value(_ series: String) -> Double? {
            lines.first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
        }
        #expect(value(#"geofront_cache_requests_total{result="hit"}"#) == 1)
        #expect(value(#"geofront_cache_requests_total{result="miss"}"#) == 1)
        #expect(value(#"geofront_cache_requests_total{result="bypass"}"#) == 1)
        #expect(value(#"geofront_cache_requests_total{result="stale"}"#) == 0)
        #expect(value("geofront_cache_entries") == 0)  // the DELETE /a invalidated it
        #expect(value("geofront_cache_bytes") == 0)
        #expect(value("geofront_cache_evictions_total") == 0)
        #expect(value("geofront_cache_not_admitted_total") == 0)
        try await rig.stop()
    }

    @Test func aNearlyFullStoreCountsTheURLsItDidNotTakeIn() async throws {
        let rig = try await AdminCacheRig(cache: ["memory_mb": 1])
        let part = [UInt8](repeating: UInt8(ascii: "b"), count: 64 * 1024)
        for index in 0..<15 {
            rig.origin.set("/fill\(index)", .init(headers: [Self.fresh], bytes: part))
            _ = try await rig.get("/fill\(index)")
        }
        try await waitUntil("the store nine tenths full") { rig.rig.server.caches.storedBytes > 15 * 64 * 1024 }
        rig.origin.set("/new", .init(headers: [Self.fresh], body: "new"))
        #expect(try await rig.get("/new").cacheStatus.hasSuffix("detail=not-admitted"))
        let answer = try await rig.admin("GET", "/cache")
        let cache = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any] ?? [:]
        #expect(cache["not_admitted"] as? Int == 1)
        let text = String(decoding: try await rig.admin("GET", "/metrics").body, as: UTF8.self)
        #expect(text.split(separator: "\n").contains("geofront_cache_not_admitted_total 1"))
        try await rig.stop()
    }
}
