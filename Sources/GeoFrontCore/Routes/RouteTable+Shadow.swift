// Routes that can never match: for `geofront check-config`.

/// A route no request can reach: in every host class it takes part in, routes that come before it
/// there take every request it would match. Found by ``RouteTable/neverMatching()``.
public struct ShadowedRoute: Sendable, Hashable {
    /// The routes that take the shadowed route's requests in one host class.
    public struct Cover: Sendable, Hashable {
        /// The host class: one of the shadowed route's hosts; nil for a route without hosts.
        public let host: HostPattern?
        /// Indices into the table's routes, in precedence order: one route, or for a route with
        /// methods, when no single route covers them all, the first route for each method.
        public let routes: [Int]
        /// Their names.
        public let names: [String]
    }

    /// Index into the table's routes.
    public let route: Int
    public let name: String
    /// One per host class of the route, in the order of its `hosts` (one, with a nil host, for a
    /// route without hosts).
    public let covers: [Cover]
    /// For people: `route "c" can never match: route "d" (same hosts, path prefix /v1/x, file
    /// order first) takes every request it would`.
    public let message: String
}

extension RouteTable {
    /// The routes that can never match, in file order.
    ///
    /// The rule, against ``match(_:in:)``: a request tries the group of its exact host, then the
    /// wildcard groups it falls in (longer suffix first), then the routes without hosts, each in
    /// precedence order, and the first route that holds takes it. Route Y is reported when, in
    /// every host class it takes part in (each of its `hosts`; the no-host class for a route
    /// without hosts), a route X before Y in that class's order covers Y: every request holding
    /// Y's fields other than the host holds X's too. Then any request Y matches meets, in the first
    /// of its groups that holds Y, X (whose host entry is the same) before Y, so X or an earlier
    /// route takes it. Covering, field by field:
    ///
    /// - path (no path is prefix `/`): prefix `/` covers every path; prefix `p` covers exact or
    ///   prefix `q` when `q` is `p` or under it by whole segments (`/v1` covers `/v1/x`, not
    ///   `/v10`); exact `e` covers exact `e` only; a regex covers only the identical regex (and is
    ///   covered only by prefix `/` or the identical regex; nothing reads what a regex matches);
    /// - methods: X without methods covers any; X with methods covers a Y whose methods are all
    ///   among them (a Y without methods takes every method, so only an X without methods covers
    ///   it); a Y with methods is also covered by several routes before it, one for each method;
    /// - headers and query: X's pairs (exact values) are all among Y's.
    ///
    /// Only routes in the same class count. A route without hosts never covers one with hosts
    /// (a request for a listed host tries the host's routes first), a wildcard route never covers
    /// an exact-host route or a longer wildcard, and an exact-host route never covers a wildcard
    /// one (it holds for one of its hosts only). Since X must also come first, in practice X ties
    /// with Y (same path, both with or both without methods, the same headers and query) and is
    /// earlier in the file, or X has prefix `/` and Y a regex path (regex paths come last).
    ///
    /// Conservative: a reported route can never match; a route that cannot match only through
    /// something subtler (a regex within a prefix, several routes splitting a path) is missed.
    public func neverMatching() -> [ShadowedRoute] {
        var groups: [HostPattern: [Int]] = [:]
        for group in exactGroups.values.joined() { groups[group.pattern] = group.routes }
        for group in wildcardGroups { groups[group.pattern] = group.routes }
        var found: [ShadowedRoute] = []
        for (index, route) in routes.enumerated() {
            let classes: [HostPattern?] = route.match.hosts.isEmpty ? [nil] : route.match.hosts.map { $0 }
            var covers: [ShadowedRoute.Cover] = []
            for host in classes {
                let order = host.map { groups[$0] ?? [] } ?? anyHost
                guard let position = order.firstIndex(of: index),
                    let covering = coveringRoutes(of: index, among: order[..<position])
                else { break }
                covers.append(
                    ShadowedRoute.Cover(host: host, routes: covering, names: covering.map { routes[$0].name }))
            }
            guard covers.count == classes.count else { continue }
            found.append(
                ShadowedRoute(route: index, name: route.name, covers: covers, message: message(index, covers)))
        }
        return found
    }

    /// The routes among `earlier` (in precedence order) that take every request route `index`
    /// would match (but the host): the first one that covers it alone, else for a route with
    /// methods the first one for each method; nil when some request is left.
    private func coveringRoutes(of index: Int, among earlier: ArraySlice<Int>) -> [Int]? {
        let match = routes[index].match
        if let single = earlier.first(where: { routes[$0].match.covers(match, method: nil) }) { return [single] }
        guard !match.methods.isEmpty else { return nil }
        var covering: [Int] = []
        for method in match.methods {
            guard let route = earlier.first(where: { routes[$0].match.covers(match, method: method) }) else {
                return nil
            }
            if !covering.contains(route) { covering.append(route) }
        }
        return covering.sorted { earlier.firstIndex(of: $0)! < earlier.firstIndex(of: $1)! }
    }

    // MARK: - The sentence

    private func message(_ index: Int, _ covers: [ShadowedRoute.Cover]) -> String {
        let route = routes[index]
        let head = "route \(Self.quoted(route.name)) can never match: "
        if covers.dropFirst().allSatisfy({ $0.routes == covers[0].routes }) {
            let hosts = Set(route.match.hosts)
            let hostPhrase: String
            if hosts.isEmpty {
                hostPhrase = "also without hosts"
            } else if covers[0].routes.allSatisfy({ Set(routes[$0].match.hosts) == hosts }) {
                hostPhrase = "same hosts"
            } else {
                hostPhrase = "hosts include " + route.match.hosts.map(\.description).joined(separator: ", ")
            }
            return head + clause(covers[0].routes, over: index, hostPhrase: hostPhrase)
        }
        let clauses = covers.map { cover in
            "for \(cover.host?.description ?? "any host"), " + clause(cover.routes, over: index, hostPhrase: nil)
        }
        return head + clauses.joined(separator: "; ")
    }

    /// `route "d" (…) takes every request it would`, or `routes "g" (…) and "p" (…) take …`.
    private func clause(_ covering: [Int], over index: Int, hostPhrase: String?) -> String {
        let described = covering.map { cover in
            var parts = hostPhrase.map { [$0] } ?? []
            parts += Self.fields(routes[cover].match)
            parts.append(
                CompiledMatch.precedes(matches[cover], matches[index]) == nil
                    ? "file order first" : "regex paths come last")
            return "\(Self.quoted(routes[cover].name)) (\(parts.joined(separator: ", ")))"
        }
        if described.count == 1 { return "route \(described[0]) takes every request it would" }
        let list = described.dropLast().joined(separator: ", ") + " and " + described.last!
        return "routes \(list) take every request it would"
    }

    /// The covering route's fields but the host: `path prefix /v1`, `methods GET, HEAD`, ….
    private static func fields(_ match: RouteMatch) -> [String] {
        var parts = [match.path.map { "path \($0)" } ?? "any path"]
        if !match.methods.isEmpty {
            parts.append("\(match.methods.count == 1 ? "method" : "methods") \(match.methods.joined(separator: ", "))")
        }
        if !match.headers.isEmpty {
            let list = match.headers.map { "\($0.name): \($0.value)" }.joined(separator: ", ")
            parts.append("\(match.headers.count == 1 ? "header" : "headers") \(list)")
        }
        if !match.query.isEmpty {
            parts.append("query " + match.query.map { "\($0.name)=\($0.value)" }.joined(separator: "&"))
        }
        return parts
    }

    private static func quoted(_ name: String) -> String { "\"\(name)\"" }
}

extension RoutesConfig {
    /// The routes that can never match (see ``RouteTable/neverMatching()``), in file order;
    /// `route` indices are into ``routes``.
    public func neverMatching() -> [ShadowedRoute] {
        table().neverMatching()
    }
}

extension RouteMatch {
    /// Whether every request holding `other`'s fields but the host, and `method` when given, holds
    /// this match's fields but the host.
    func covers(_ other: RouteMatch, method: String?) -> Bool {
        guard PathMatch.covers(path, other.path) else { return false }
        if !methods.isEmpty {
            let needed = method.map { [$0] } ?? other.methods
            guard !needed.isEmpty, needed.allSatisfy(methods.contains) else { return false }
        }
        return headers.allSatisfy(other.headers.contains) && query.allSatisfy(other.query.contains)
    }
}

extension PathMatch {
    /// Whether every path `other` matches is one `path` matches (nil: any path, prefix `/`).
    static func covers(_ path: PathMatch?, _ other: PathMatch?) -> Bool {
        switch (path ?? .prefix("/"), other ?? .prefix("/")) {
        case (.prefix("/"), _): return true
        // A prefix's own path matches `p` only when every path under it does too.
        case (.prefix(let p), .prefix(let q)), (.prefix(let p), .exact(let q)): return q == p || q.hasPrefix(p + "/")
        case (.exact(let e), .exact(let f)): return e == f
        case (.regex(let a), .regex(let b)): return a.source == b.source
        default: return false
        }
    }
}
