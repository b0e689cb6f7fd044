/// A route's `match`: every given field must hold; an absent field holds for every request.
public struct RouteMatch: Sendable, Hashable {
    /// `hosts`: exact names and `*.` wildcards, lower case; empty: any host.
    public var hosts: [HostPattern]
    /// `path`; nil: any path (as a prefix of `/`, for precedence too).
    public var path: PathMatch?
    /// `methods`, exact (case-sensitive); empty: any method.
    public var methods: [String]
    /// `headers`: exact values, names lower case (sorted by name).
    public var headers: [NameValue]
    /// `query`: exact values of named parameters (sorted by name).
    public var query: [NameValue]

    public init(
        hosts: [HostPattern] = [], path: PathMatch? = nil, methods: [String] = [], headers: [NameValue] = [],
        query: [NameValue] = []
    ) {
        self.hosts = hosts
        self.path = path
        self.methods = methods
        self.headers = headers
        self.query = query
    }
}

/// One entry of `match.hosts`, lower case, without a trailing dot.
public enum HostPattern: Sendable, Hashable, CustomStringConvertible {
    /// `api.example.com`: that name only.
    case exact(String)
    /// `*.example.com`, kept as the suffix `.example.com`: one or more labels before it.
    case wildcard(suffix: String)

    public var description: String {
        switch self {
        case .exact(let name): return name
        case .wildcard(let suffix): return "*" + suffix
        }
    }
}

/// `match.path`: one of `exact`, `prefix` (whole segments) or `regex` (whole path).
public enum PathMatch: Sendable, Hashable, CustomStringConvertible {
    case exact(String)
    /// Kept without a trailing `/` (except `/` itself): `/v1/` and `/v1` match the same paths.
    case prefix(String)
    case regex(RoutePattern)

    public var description: String {
        switch self {
        case .exact(let path): return "exact \(path)"
        case .prefix(let path): return "prefix \(path)"
        case .regex(let pattern): return "regex \(pattern.source)"
        }
    }
}
