/// One entry of `routes`: which requests it takes (`match`), which services they go to
/// (`backends`, by weight or by a `sticky` key) and what is changed on the way. Not yet served
/// (see docs/design.md, "Routes").
public struct RouteConfig: Sendable, Hashable {
    /// Unique among the routes, `[a-z0-9._-]`, at most 63 characters.
    public var name: String
    public var match: RouteMatch
    /// The services requests go to, with their weights (`backends`, or `service` with weight 1).
    public var backends: [RouteBackend]
    /// How a client keeps its backend; nil: every request is split by weight.
    public var sticky: StickyKey?
    /// `rewrite.path_prefix`: replaces the matched `match.path.prefix` (only with a prefix match).
    public var rewritePathPrefix: String?
    /// Edits of the request on its way to the upstream (`request_headers`).
    public var requestHeaders: HeaderEdits
    /// Edits of the response on its way to the client (`response_headers`).
    public var responseHeaders: HeaderEdits
    /// When a backend's weight is set to 0 automatically; nil: never.
    public var rollback: RollbackSettings?
    /// `cache`: this route's requests turn the cache off or override its keys; nil: the backend
    /// service's `cache`, else the top level's (``CacheSettings/resolve(top:service:route:)``).
    public var cache: CacheOverride?

    public init(
        name: String, match: RouteMatch = RouteMatch(), backends: [RouteBackend], sticky: StickyKey? = nil,
        rewritePathPrefix: String? = nil, requestHeaders: HeaderEdits = HeaderEdits(),
        responseHeaders: HeaderEdits = HeaderEdits(), rollback: RollbackSettings? = nil
    ) {
        self.name = name
        self.match = match
        self.backends = backends
        self.sticky = sticky
        self.rewritePathPrefix = rewritePathPrefix
        self.requestHeaders = requestHeaders
        self.responseHeaders = responseHeaders
        self.rollback = rollback
    }
}

/// One entry of a route's `backends`.
public struct RouteBackend: Sendable, Hashable {
    /// A key of `services`.
    public var service: String
    /// Relative share of the route's requests, 0…1000 (0: none).
    public var weight: Int

    public init(service: String, weight: Int) {
        self.service = service
        self.weight = weight
    }
}
