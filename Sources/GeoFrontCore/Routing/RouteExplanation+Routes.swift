extension RouteExplanation {
    /// The value an explanation gives the decision's `random` input (the middle of the range), so
    /// that the same question always gets the same answer: the backend picked by weight when the
    /// request has no sticky key, and the value of a new sticky cookie.
    public static let draw: UInt64 = 1 << 63

    /// What the routes did with the request: the route and why, the routes of higher precedence
    /// tried, the backend. Nil in an explanation when the configuration has no routes.
    public struct Routing: Sendable {
        /// A route of higher precedence that did not take the request.
        public struct Attempt: Sendable {
            public let route: String
            /// The host entry the route was tried for (`api.example.com`, `*.example.com`); nil
            /// for a route without hosts.
            public let host: String?
            /// The first field of its `match` that failed, as the file names it (`hosts`, `path`,
            /// `methods`, `headers.x-tenant`, `query.beta`).
            public let field: String
        }

        /// The route that took the request (or would have: see ``weightless``); nil: no route
        /// matches and there is no `default_route`.
        public let route: String?
        public let reason: RoutingDecision.RouteReason
        /// The route has every backend at weight 0 now (set at run time or by a rollback): 404.
        public let weightless: Bool
        /// In precedence order.
        public let tried: [Attempt]
        public let backend: Backend?
    }

    /// The backend of the route chosen for the request.
    public struct Backend: Sendable {
        public let service: String
        /// Its weight now, and the route's backends with theirs (runtime weights included).
        public let weight: Int
        public let split: [(service: String, weight: Int)]
        /// The route's `sticky` setting.
        public let sticky: StickyKey?
        /// The sticky key's place in [0, 1) (the new cookie's when one would be set); nil when
        /// the request has no key and the route sets no cookie.
        public let point: Double?
        /// Whether the request's own sticky key picked the backend (else its weight did).
        public let bySticky: Bool
        /// The value of the sticky cookie the response would set.
        public let newCookie: String?

        public var totalWeight: Int { split.reduce(0) { $0 + $1.weight } }

        /// How the backend was picked, for people.
        public var byText: String {
            let point = point.map { String(format: "point %.4f", $0) } ?? ""
            switch sticky {
            case .cookie(let name, _)? where bySticky:
                return "sticky cookie \(name), \(point)"
            case .cookie(let name, _)?:
                return
                    "weight (no sticky key; a new cookie would be set: \(name)=\(newCookie ?? ""), \(point))"
            case .header(let name)? where bySticky:
                return "sticky header \(name), \(point)"
            case .header(let name)?:
                return "weight (no sticky key: the request has no \(name) header; \(Self.drawText))"
            case .clientIP?:
                return "sticky client address, \(point)"
            case nil:
                return "weight (the route has no sticky key; \(Self.drawText))"
            }
        }

        static let drawText = "explained with a draw at 0.5 of the weights"

        var json: String {
            JSONText.object([
                ("service", JSONText.string(service)),
                ("weight", "\(weight)"),
                ("point", point.map { "\($0)" } ?? "null"),
                ("by", bySticky ? "\"sticky\"" : "\"weight\""),
                ("new_cookie", newCookie.map { JSONText.string($0) } ?? "null"),
                (
                    "backends",
                    "["
                        + split.map {
                            JSONText.object([("service", JSONText.string($0.service)), ("weight", "\($0.weight)")])
                        }.joined(separator: ",") + "]"
                ),
            ])
        }
    }

    /// What the client would get.
    public enum Target: Sendable {
        /// `status` with this `Location`: the region's (or the service's) redirect URL and the
        /// request's path, rewritten by the route.
        case redirect(status: Int, location: String)
        /// The request, its path rewritten by the route, goes to one of these upstreams of the
        /// service in the region chosen.
        case proxy(upstreams: [String], path: String)
        /// 404 (no route) or 503 (no region available and `when_all_down` is `unavailable`).
        case refused(status: Int)

        /// One line for people.
        public var text: String {
            switch self {
            case .redirect(let status, let location): return "\(status) Location: \(location)"
            case .proxy(let upstreams, let path):
                let list = upstreams.isEmpty ? "no upstreams" : upstreams.joined(separator: ", ")
                return "\(path) to \(list)"
            case .refused(let status): return "\(status)"
            }
        }

        var json: String {
            switch self {
            case .redirect(let status, let location):
                return JSONText.object([("status", "\(status)"), ("location", JSONText.string(location))])
            case .proxy(let upstreams, let path):
                return JSONText.object([
                    ("upstreams", "[" + upstreams.map { JSONText.string($0) }.joined(separator: ",") + "]"),
                    ("path", JSONText.string(path)),
                ])
            case .refused(let status):
                return JSONText.object([("status", "\(status)")])
            }
        }
    }

    /// The route's line for people: `api (matched)`, `site (default_route: no route matches)`,
    /// `none: no route matches and there is no default_route`.
    public var routeText: String? {
        guard let routing else { return nil }
        if routing.weightless, let route = routing.route {
            return "\(route) (\(routing.reason.rawValue)), but every backend's weight is 0: 404"
        }
        switch routing.reason {
        case .matched: return "\(routing.route ?? "?") (matched)"
        case .defaultRoute: return "\(routing.route ?? "?") (default_route: no route matches)"
        case .noMatch, .noRoutes: return "none: no route matches and there is no default_route"
        }
    }

    /// The fields `route --json` and admin `/route` add for routes (`null`s and `[]` without).
    var routingFields: [(String, String)] {
        let tried = (routing?.tried ?? []).map { attempt in
            JSONText.object([
                ("route", JSONText.string(attempt.route)),
                ("host", attempt.host.map { JSONText.string($0) } ?? "null"),
                ("failed_field", JSONText.string(attempt.field)),
            ])
        }
        return [
            ("request", question.json),
            ("route", routing?.route.map { JSONText.string($0) } ?? "null"),
            ("route_reason", JSONText.string((routing?.reason ?? decision.reasons.route).rawValue)),
            ("weightless", routing?.weightless == true ? "true" : "false"),
            ("tried", "[" + tried.joined(separator: ",") + "]"),
            ("backend", routing?.backend?.json ?? "null"),
            ("service", service.map { JSONText.string($0) } ?? "null"),
            ("target", target.json),
        ]
    }
}

extension RoutingSnapshot {
    /// The routes' part of an explanation: `decision` was made for `question`.
    func routing(_ question: RouteQuestion, _ decision: RoutingDecision) -> RouteExplanation.Routing? {
        guard let routes else { return nil }
        let table = routes.explain(question.request)
        let tried = table.failed.map { attempt in
            let route = routes.routes[attempt.route]
            return RouteExplanation.Routing.Attempt(
                route: route.name, host: attempt.host?.description, field: attempt.mismatch!.field(in: route))
        }
        var backend: RouteExplanation.Backend?
        if let route = decision.route, let choice = decision.backend {
            let split = routes.splits[route]
            backend = RouteExplanation.Backend(
                service: split.services[choice.backend], weight: split.weights[choice.backend],
                split: Array(zip(split.services, split.weights)), sticky: routes.routes[route].sticky,
                point: choice.point, bySticky: choice.stickyHash != nil && choice.newCookie == nil,
                newCookie: choice.newCookie.map(StickyCookie.value))
        }
        // The decision has no route when the one that matched has no weight left: 404 all the same.
        if decision.route == nil, let chosen = table.chosen {
            return RouteExplanation.Routing(
                route: routes.routes[chosen].name, reason: table.matched == nil ? .defaultRoute : .matched,
                weightless: true, tried: tried, backend: nil)
        }
        return RouteExplanation.Routing(
            route: decision.route.map { routes.routes[$0].name }, reason: decision.reasons.route, weightless: false,
            tried: tried, backend: backend)
    }

    /// What the client gets for `question`'s path once `decision` is made.
    func target(_ question: RouteQuestion, _ decision: RoutingDecision) -> RouteExplanation.Target {
        let region = regions[decision.regionIndex]
        let path = decision.route.flatMap { routeActions[$0].rewrite }.map { $0.apply(question.path) } ?? question.path
        switch decision.action {
        case .notFound: return .refused(status: 404)
        case .unavailable: return .refused(status: 503)
        case .redirect:
            let location = RedirectLocation.build(base: region.redirectBase, target: path) ?? region.name
            return .redirect(status: config.redirect.status, location: location)
        case .proxy:
            return .proxy(upstreams: region.config.upstreams.map(\.description), path: path)
        }
    }
}
