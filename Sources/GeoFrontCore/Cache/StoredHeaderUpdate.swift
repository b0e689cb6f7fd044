/// Which header fields a shared cache stores (RFC 9111 §3.1), how a 304 or a HEAD response updates
/// a stored response's fields (§3.2), and which stored response a 304 updates (§4.3.4).
public enum StoredHeaderUpdate {
    public typealias Field = (name: String, value: String)

    /// Fields never stored (lower case): the hop-by-hop fields (RFC 9110 §7.6.1) and the fields
    /// specific to the proxy the cache forwards through (§3.1: `Proxy-Authenticate`,
    /// `Proxy-Authentication-Info`, `Proxy-Authorization`).
    public static let neverStored: Set<String> = Set(HopByHop.names).union([
        "proxy-authenticate", "proxy-authentication-info", "proxy-authorization",
    ])

    /// Fields a 304 never updates (lower case), beyond those never stored (§3.2): `Content-Length`
    /// (the 304 has no content; the stored length is the stored content's), and `Content-Range`,
    /// which §3.2 lets a cache ignore (it describes a partial message; the cache stores whole ones).
    public static let neverUpdated: Set<String> = ["content-length", "content-range"]

    /// The fields of `response` a shared cache stores, in order (§3.1): without ``neverStored``, the
    /// fields the response's `Connection` names, and those a `private="…"` directive names (§5.2.2.7:
    /// a shared cache MUST NOT store them).
    public static func storable(_ response: [Field]) -> [Field] {
        let excluded = excludedNames(response)
        return response.filter { !excluded.contains($0.name.lowercased()) }
    }

    /// The stored fields after a 304 (or a HEAD response) `update` (§3.2, for §4.3.4 and §4.3.5): each
    /// field name of the update that may be stored replaces every stored field of that name (ASCII
    /// case-insensitive), in the stored field's place (new ones at the end); all its lines are kept.
    /// `Content-Length`, `Content-Range` and the fields never stored are left as stored.
    public static func updated(stored: [Field], with update: [Field]) -> [Field] {
        var excluded = excludedNames(update)
        excluded.formUnion(neverUpdated)
        let replacing = update.filter { !excluded.contains($0.name.lowercased()) }
        let names = Set(replacing.map { $0.name.lowercased() })
        var result: [Field] = []
        var placed: Set<String> = []
        for field in stored {
            let name = field.name.lowercased()
            guard names.contains(name) else {
                result.append(field)
                continue
            }
            if placed.insert(name).inserted {
                result.append(contentsOf: replacing.filter { $0.name.lowercased() == name })
            }
        }
        for field in replacing where !placed.contains(field.name.lowercased()) {
            result.append(field)
        }
        return result
    }

    /// Whether a 304 with validators `etag` / `lastModified` (its `Date`: `date`) updates a stored
    /// response with `storedETag` / `storedLastModified` (its `Date`: `storedDate`) (RFC 9111 §4.3.4).
    /// `storedCount` is how many responses are stored for the request's primary key.
    ///
    /// - With a strong validator in the 304 (a strong `ETag`, or a `Last-Modified` at least one second
    ///   before its `Date`: RFC 9110 §8.8.2.2), the stored response is updated when it has the same
    ///   strong validator (strong comparison; the same `Last-Modified`).
    /// - Else, with a weak validator, when it matches (weak comparison; the same `Last-Modified`); with
    ///   several stored responses matching, the caller updates the most recent.
    /// - Without a validator, only a lone stored response without a validator is updated.
    public static func selects(
        etag: String?, lastModified: Int?, date: Int?, storedETag: String?, storedLastModified: Int?,
        storedCount: Int = 1
    ) -> Bool {
        let tag = etag.flatMap { EntityTag($0) }
        let storedTag = storedETag.flatMap { EntityTag($0) }
        let strongTag = tag.flatMap { $0.isWeak ? nil : $0 }
        let strongDate = lastModified.flatMap { modified in (date ?? Int.min) >= modified + 1 ? modified : nil }
        if strongTag != nil || strongDate != nil {
            if let strongTag, let storedTag, strongTag.strongMatches(storedTag) { return true }
            if let strongDate, strongDate == storedLastModified { return true }
            return false
        }
        if tag != nil || lastModified != nil {
            if let tag, let storedTag, tag.weakMatches(storedTag) { return true }
            if let lastModified, lastModified == storedLastModified { return true }
            return false
        }
        return storedCount == 1 && storedTag == nil && storedLastModified == nil
    }

    /// ``neverStored``, the names `Connection` lists and the names of `private="…"` in `fields`.
    static func excludedNames(_ fields: [Field]) -> Set<String> {
        var names = neverStored
        var cacheControl: [[UInt8]] = []
        for field in fields {
            switch field.name.lowercased() {
            case "connection":
                for token in field.value.split(separator: ",") {
                    let name = token.filter { $0 != " " && $0 != "\t" }.lowercased()
                    if !name.isEmpty { names.insert(name) }
                }
            case "cache-control":
                cacheControl.append(Array(field.value.utf8))
            default: break
            }
        }
        if !cacheControl.isEmpty {
            names.formUnion(CacheControl(fieldValues: cacheControl).privateFields.map { $0.lowercased() })
        }
        return names
    }
}
