import GeoIP

/// The routes compiled for matching, in Gateway API HTTPRoute precedence whatever their order in
/// the file:
///
/// 1. host: an exact host, then wildcard hosts (longer suffix first), then routes without hosts;
/// 2. path: exact, then longer prefix, then shorter prefix, then regex (a route without a path
///    is a prefix of `/`);
/// 3. a route with methods before one without;
/// 4. more header matches first; 5. more query matches first; 6. file order.
///
/// A route with several hosts takes part once per host. Matching looks at the request's own
/// host classes only: the group of its exact host (a hash of its lower-cased bytes), the wildcard
/// groups whose suffix it ends with, and the routes without hosts, each group already in order,
/// so the first route that holds wins and regex routes run only when nothing above them matched.
/// Nothing is allocated and no string is built, except for a regex path.
public struct RouteTable: Sendable {
    /// The routes, in file order: indices returned are into this array.
    public let routes: [RouteConfig]
    /// The route taking requests no route matches (`default_route`); nil: 404.
    public let defaultRoute: Int?
    /// Per route: its split (weights can be replaced at run time, see ``withWeights(_:route:)``).
    public private(set) var splits: [BackendSplit]

    let matches: [CompiledMatch]
    /// Per route, ``CompiledMatch/quickKey``: the path filter checked before the route's match.
    let quickKeys: [UInt64]
    let quickMasks: [UInt64]
    let stickies: [CompiledSticky]
    /// Exact-host groups by the hash of the lower-cased host (more than one on a collision).
    let exactGroups: [UInt64: [HostGroup]]
    /// Wildcard groups, longer suffix first.
    let wildcardGroups: [HostGroup]
    /// Routes without hosts, in order.
    let anyHost: [Int]

    struct HostGroup: Sendable {
        /// The exact host, or a wildcard's suffix (`.example.com`), lower case.
        let host: [UInt8]
        let pattern: HostPattern
        /// Route indices, in precedence order.
        let routes: [Int]
    }

    enum CompiledSticky: Sendable {
        case none
        case cookie([UInt8])
        case header([UInt8])
        case clientIP
    }

    public init(routes: [RouteConfig], defaultRoute: Int? = nil) {
        self.routes = routes
        self.defaultRoute = defaultRoute
        let matches = routes.map { CompiledMatch($0.match) }
        self.matches = matches
        quickKeys = matches.map(\.quickKey.key)
        quickMasks = matches.map(\.quickKey.mask)
        splits = routes.map { BackendSplit($0.backends) }
        stickies = routes.map { route in
            switch route.sticky {
            case nil: return .none
            case .cookie(let name, _)?: return .cookie(Array(name.utf8))
            case .header(let name)?: return .header(Array(name.lowercased().utf8))
            case .clientIP?: return .clientIP
            }
        }
        func ordered(_ indices: [Int]) -> [Int] {
            indices.sorted { a, b in CompiledMatch.precedes(matches[a], matches[b]) ?? (a < b) }
        }
        var exact: [String: [Int]] = [:]
        var wildcard: [String: [Int]] = [:]
        var none: [Int] = []
        for (index, route) in routes.enumerated() {
            if route.match.hosts.isEmpty { none.append(index) }
            for host in route.match.hosts {
                switch host {
                case .exact(let name): exact[name, default: []].append(index)
                case .wildcard(let suffix): wildcard[suffix, default: []].append(index)
                }
            }
        }
        var exactGroups: [UInt64: [HostGroup]] = [:]
        for name in exact.keys.sorted() {
            let bytes = Array(name.utf8)
            exactGroups[Self.hostHash(bytes), default: []].append(
                HostGroup(host: bytes, pattern: .exact(name), routes: ordered(exact[name]!)))
        }
        self.exactGroups = exactGroups
        wildcardGroups = wildcard.keys.sorted { ($0.utf8.count, $1) > ($1.utf8.count, $0) }.map { suffix in
            HostGroup(host: Array(suffix.utf8), pattern: .wildcard(suffix: suffix), routes: ordered(wildcard[suffix]!))
        }
        anyHost = ordered(none)
    }

    /// The index of the route that takes the request, or nil (then ``defaultRoute``, else 404).
    public func match(_ request: RouteRequest, in bytes: UnsafeRawBufferPointer) -> Int? {
        let pathKey = CompiledMatch.pathKey(bytes, request.path)
        if let host = request.host {
            if !exactGroups.isEmpty, let groups = exactGroups[Self.hostHash(bytes, host)] {
                for group in groups where Self.equalsLowercased(bytes, host, group.host) {
                    if let route = first(group.routes, request, bytes, pathKey) { return route }
                }
            }
            for group in wildcardGroups where Self.hasSuffix(bytes, host, group.host) {
                if let route = first(group.routes, request, bytes, pathKey) { return route }
            }
        }
        return first(anyHost, request, bytes, pathKey)
    }

    /// ``match(_:in:)`` for a request built from strings.
    public func match(_ request: OwnedRouteRequest) -> Int? {
        request.withRequest { match($0, in: $1) }
    }

    @inline(__always)
    private func first(_ group: [Int], _ request: RouteRequest, _ bytes: UnsafeRawBufferPointer, _ pathKey: UInt64)
        -> Int?
    {
        for route in group where pathKey & quickMasks[route] == quickKeys[route] {
            if matches[route].matches(request, bytes) { return route }
        }
        return nil
    }

    /// The table with route `route`'s backend weights replaced (same order as its backends).
    public func withWeights(_ weights: [Int], route: Int) -> RouteTable {
        var table = self
        table.splits[route] = splits[route].withWeights(weights)
        return table
    }

    /// The table with every route's weights replaced (per route, per backend; routes beyond
    /// `weights` and routes whose count of backends differs keep theirs).
    public func applying(_ weights: [[Int]]) -> RouteTable {
        var table = self
        for (route, routeWeights) in weights.enumerated()
        where route < splits.count && routeWeights.count == splits[route].weights.count {
            table.splits[route] = splits[route].withWeights(routeWeights)
        }
        return table
    }

    // MARK: - Host bytes

    /// FNV-1a over the lower-cased bytes (the exact-host groups' key).
    @inline(__always)
    static func hostHash(_ bytes: UnsafeRawBufferPointer, _ span: RequestHead.Span) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for offset in 0..<span.count {
            hash ^= UInt64(lowercased(bytes[span.start + offset]))
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func hostHash(_ lowercasedHost: [UInt8]) -> UInt64 {
        lowercasedHost.withUnsafeBytes { hostHash($0, RequestHead.Span(start: 0, count: $0.count)) }
    }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    @inline(__always)
    static func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ span: RequestHead.Span, _ host: [UInt8]) -> Bool {
        guard span.count == host.count else { return false }
        for offset in 0..<span.count where lowercased(bytes[span.start + offset]) != host[offset] { return false }
        return true
    }

    /// Whether the host ends with `suffix` (`.example.com`) after at least one more byte.
    @inline(__always)
    static func hasSuffix(_ bytes: UnsafeRawBufferPointer, _ span: RequestHead.Span, _ suffix: [UInt8]) -> Bool {
        guard span.count > suffix.count else { return false }
        let start = span.start + span.count - suffix.count
        for offset in 0..<suffix.count where lowercased(bytes[start + offset]) != suffix[offset] { return false }
        return true
    }
}

extension RouteTable {
    /// The backend a request goes to on route `route`, and the sticky key's hash when it had one.
    public struct BackendChoice: Sendable, Hashable {
        /// Index into the route's backends.
        public let backend: Int
        /// The sticky key's hash; nil when the request had no key (split by weight).
        public let stickyHash: UInt64?
        /// A sticky cookie the request did not have: its value is ``StickyCookie/value(_:)`` of
        /// this, and the response sets it.
        public let newCookie: UInt64?

        public init(backend: Int, stickyHash: UInt64?, newCookie: UInt64? = nil) {
            self.backend = backend
            self.stickyHash = stickyHash
            self.newCookie = newCookie
        }

        /// The key's place in [0, 1), for display.
        public var point: Double? { stickyHash.map(StickyHash.point) }
    }

    /// Picks the backend: by weighted rendezvous on the route's sticky key when the request has
    /// one (cookie value, header value, client address), else by weight with `random`. A route
    /// with a sticky cookie the request lacks makes one from `random` and picks by its hash (by
    /// weight, since every key is); the response sets it. Nil when every weight of the route is 0.
    public func backend(
        route: Int, request: RouteRequest, in bytes: UnsafeRawBufferPointer, client: IPAddress, random: UInt64
    ) -> BackendChoice? {
        let split = splits[route]
        var key: UInt64?
        var newCookie: UInt64?
        switch stickies[route] {
        case .none: break
        case .cookie(let name):
            if let value = request.cookie(name, in: bytes), value.count > 0 {
                key = StickyHash.of(value.bytes(in: bytes))
            } else {
                newCookie = random
                key = StickyCookie.hash(ofValue: random)
            }
        case .header(let name):
            if let value = request.header(name, in: bytes) { key = StickyHash.of(value.bytes(in: bytes)) }
        case .clientIP:
            key = StickyHash.of(client)
        }
        if let key {
            return split.pick(stickyHash: key).map { BackendChoice(backend: $0, stickyHash: key, newCookie: newCookie) }
        }
        return split.pick(random: random).map { BackendChoice(backend: $0, stickyHash: nil) }
    }

    /// ``backend(route:request:in:client:random:)`` for a request built from strings.
    public func backend(route: Int, request: OwnedRouteRequest, client: IPAddress, random: UInt64) -> BackendChoice? {
        request.withRequest { backend(route: route, request: $0, in: $1, client: client, random: random) }
    }
}
