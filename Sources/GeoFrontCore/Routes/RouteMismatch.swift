/// The field of a route's `match` a request failed, for ``RouteTable/explain(_:in:)``.
public enum RouteMismatch: Sendable, Hashable {
    /// The host is not one of `hosts` (or the request has none).
    case host
    case path
    case method
    /// `headers[index]` (in the route's ``RouteMatch/headers``) is absent or has another value.
    case header(Int)
    /// `query[index]` (in the route's ``RouteMatch/query``) is absent or has another value.
    case query(Int)
}

extension RouteMismatch {
    /// The failed field as the file names it, for people: `hosts`, `path`, `methods`,
    /// `headers.x-tenant`, `query.beta`.
    public func field(in route: RouteConfig) -> String {
        switch self {
        case .host: return "hosts"
        case .path: return "path"
        case .method: return "methods"
        case .header(let index): return "headers." + route.match.headers[index].name
        case .query(let index): return "query." + route.match.query[index].name
        }
    }
}
