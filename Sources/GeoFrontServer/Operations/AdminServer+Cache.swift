import Foundation
import GeoFrontCore
import NIOHTTP1

extension AdminServer {
    /// The response cache of the running configuration, nil when it has no `cache`. Asked of the
    /// registry with the published snapshot's settings, as the event loops ask it, so the cache is
    /// there before the first proxied request (and one a reload dropped is gone).
    func currentResponseCache() -> ResponseCache? {
        server.caches.cache(for: server.publisher.current.config.cache)
    }

    /// `/cache` and `/cache/purge`; `parts` is the path split at `/`.
    func cacheAnswer(method: HTTPMethod, parts: [String], body: [UInt8]) -> Answer {
        switch (method, parts.count) {
        case (.GET, 1):
            return .json(cacheJSON())
        case (.DELETE, 1):
            guard let cache = currentResponseCache() else { return Self.cacheOff }
            let removed = cache.store.statistics.entries
            cache.removeAll()
            logger.notice("response cache emptied", metadata: ["removed": "\(removed)"])
            return .json("{\"removed\":\(removed)}")
        case (.POST, 2):
            guard let cache = currentResponseCache() else { return Self.cacheOff }
            let target: PurgeTarget
            switch Self.purgeTarget(body, query: cache.settings.query) {
            case .success(let parsed): target = parsed
            case .failure(let problem): return .error(.badRequest, problem.message)
            }
            let purged: Int
            switch target {
            case .url(let url): purged = cache.invalidate(url: url)
            case .prefix(let prefix): purged = cache.purge(prefix: prefix)
            case .tag(let tag): purged = cache.purge(tag: tag)
            }
            logger.notice("response cache purged", metadata: ["by": "\(target)", "purged": "\(purged)"])
            return .json("{\"purged\":\(purged)}")
        default:
            return .error(.methodNotAllowed, "\(method.rawValue) is not allowed here")
        }
    }

    /// 409: the endpoints that change the cache need one.
    static let cacheOff = Answer.error(.conflict, "the response cache is off (the configuration has no cache)")

    /// `GET /cache`.
    func cacheJSON() -> String {
        guard let cache = currentResponseCache() else { return "{\"enabled\":false}" }
        let statistics = cache.store.statistics
        let results = cache.results
        let requests = CacheResult.allCases.map { ($0.label, "\(results[$0, default: 0])") }
        return JSONText.object([
            ("enabled", "true"),
            ("memory_bytes", "\(statistics.capacityBytes)"),
            ("bytes", "\(statistics.bytes)"),
            ("entries", "\(statistics.entries)"),
            ("evictions", "\(statistics.evictions)"),
            ("not_admitted", "\(statistics.notAdmitted)"),
            ("requests", JSONText.object(requests)),
            ("hit_ratio", "\(Self.hitRatio(results))"),
        ])
    }

    /// (hit + stale) / (hit + miss + stale + revalidated): the share of cache lookups answered
    /// without going upstream; bypassed requests are not lookups. 0 before the first lookup.
    static func hitRatio(_ results: [CacheResult: Int]) -> Double {
        let served = results[.hit, default: 0] + results[.stale, default: 0]
        let lookups = served + results[.miss, default: 0] + results[.revalidated, default: 0]
        return lookups == 0 ? 0 : Double(served) / Double(lookups)
    }

    /// The status page's line about the cache (empty without one).
    func cacheLine() -> String {
        guard let cache = currentResponseCache() else { return "" }
        let statistics = cache.store.statistics
        let results = cache.results
        let lookups = [CacheResult.hit, .miss, .stale, .revalidated].reduce(0) { $0 + results[$1, default: 0] }
        let ratio = Int((Self.hitRatio(results) * 100).rounded())
        return "<p class=\"meta\">response cache: \(statistics.entries) entries, "
            + "\(Self.mebibytes(statistics.bytes)) of \(Self.mebibytes(statistics.capacityBytes)) MiB, "
            + "hit ratio \(ratio)% of \(lookups) lookups, \(statistics.evictions) evictions</p>"
    }

    private static func mebibytes(_ bytes: Int) -> String {
        String(format: "%.1f", Double(bytes) / 1_048_576)
    }

    // MARK: - Purge requests

    /// What `POST /cache/purge` removes.
    enum PurgeTarget: Equatable, CustomStringConvertible {
        /// Every stored response for this normalised URL (all variants and regions).
        case url(String)
        /// Every stored response whose normalised URL starts with this.
        case prefix(String)
        /// Every stored response tagged so (`Surrogate-Key`, `Cache-Tag`).
        case tag(String)

        var description: String {
            switch self {
            case .url(let url): "url \(url)"
            case .prefix(let prefix): "prefix \(prefix)"
            case .tag(let tag): "tag \(tag)"
            }
        }
    }

    struct PurgeProblem: Error, Equatable {
        var message: String
    }

    static let purgeExample =
        #"e.g. {"url": "https://example.com/a"}, {"prefix": "https://example.com/a/"} or {"tag": "product-42"}"#

    /// The body of `POST /cache/purge`: an object with exactly one of `url`, `prefix` or `tag`, a
    /// string. `url` and `prefix` are normalised as the cache normalises request URLs (`url`'s query
    /// after `key.query`, `query`; a prefix's query is kept as given).
    static func purgeTarget(_ body: [UInt8], query: CacheQueryPolicy) -> Result<PurgeTarget, PurgeProblem> {
        guard !body.isEmpty else {
            return .failure(
                PurgeProblem(message: "send a JSON object with exactly one of url, prefix or tag, \(purgeExample)"))
        }
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch {
            return .failure(PurgeProblem(message: "the body is not valid JSON; \(purgeExample)"))
        }
        guard case .object(let fields) = document else {
            return .failure(
                PurgeProblem(
                    message: "expected an object with exactly one of url, prefix or tag, not \(kind(document))"))
        }
        let allowed = ["url", "prefix", "tag"]
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            return .failure(
                PurgeProblem(message: "unknown key \(JSONText.string(unknown)); give exactly one of url, prefix or tag")
            )
        }
        let given = allowed.filter { fields[$0] != nil }
        guard given.count == 1, let key = given.first, let value = fields[key] else {
            let which = given.isEmpty ? "none" : given.joined(separator: " and ")
            return .failure(PurgeProblem(message: "give exactly one of url, prefix or tag (got \(which))"))
        }
        guard case .string(let text) = value else {
            return .failure(PurgeProblem(message: "\(key) must be a string, not \(kind(value))"))
        }
        switch key {
        case "tag":
            guard !text.isEmpty else { return .failure(PurgeProblem(message: "tag must not be empty")) }
            guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "," }) else {
                return .failure(
                    PurgeProblem(message: "tag must be one tag, without spaces, commas or control characters"))
            }
            return .success(.tag(text))
        case "url":
            return normalisedURL(text, name: "url", query: query).map(PurgeTarget.url)
        default:
            return normalisedURL(text, name: "prefix", query: .all).map(PurgeTarget.prefix)
        }
    }

    /// `scheme://host[:port][path][?query]` (scheme `http` or `https`) as the cache stores it
    /// (``CacheKey/normalisedURL(scheme:host:path:query:policy:)``): scheme and host lower-cased,
    /// the default port dropped, an empty path as `/`. `name` names the key in the problem.
    static func normalisedURL(_ text: String, name: String, query policy: CacheQueryPolicy)
        -> Result<String, PurgeProblem>
    {
        func problem(_ message: String) -> Result<String, PurgeProblem> {
            .failure(PurgeProblem(message: "\(name) \(JSONText.string(text)): \(message)"))
        }
        if text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            return problem("contains a space or a control character")
        }
        guard let separator = text.range(of: "://") else {
            return problem("not an absolute URL; give scheme://host/path, e.g. https://example.com/a")
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            return problem(scheme.isEmpty ? "no scheme; give http or https" : "the scheme must be http or https")
        }
        let rest = text[separator.upperBound...]
        if rest.contains("#") { return problem("a fragment (#…) is never part of a stored URL") }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.isEmpty else { return problem("no host") }
        if authority.contains("@") { return problem("user information (user@) is not part of a stored URL") }
        var host = authority
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return problem("an IPv6 address without ]") }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return problem("unexpected text after the IPv6 address") }
                port = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        }
        guard host.count > (host.hasPrefix("[") ? 2 : 0) else { return problem("no host") }
        if let port {
            guard port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port), (1...65535).contains(number)
            else {
                return problem("the port must be a number from 1 to 65535")
            }
        }
        let target = rest[authorityEnd...]
        let path: Substring
        var query: String?
        if let mark = target.firstIndex(of: "?") {
            path = target[..<mark]
            query = String(target[target.index(after: mark)...])
        } else {
            path = target
        }
        return .success(
            CacheKey.normalisedURL(
                scheme: scheme, host: String(authority), path: String(path), query: query, policy: policy))
    }

    private static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
