/// Why ``RouteControl/setWeights(route:_:)`` (or ``RouteControl/parseWeights(_:)``) refused a
/// change; `description` is written for the operator who sent it (the admin API's 4xx body).
public enum RouteControlError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No route has that name (404).
    case unknownRoute(String, routes: [String])
    /// The route has no backend with that service.
    case unknownService(String, route: String, services: [String])
    /// A weight outside 0…1000.
    case weightOutOfRange(Int, service: String, route: String)
    /// The change would leave every backend of the route at 0.
    case allWeightsZero(route: String)
    /// Nothing to change.
    case noWeights(route: String)
    /// The body is not an object of integer weights (``RouteControl/parseWeights(_:)``).
    case malformed(String)

    public var description: String {
        switch self {
        case .unknownRoute(let name, let routes):
            return RoutesConfig.unknownName(name, kind: "route", known: routes)
        case .unknownService(let name, let route, let services):
            let shown = JSONValue.string(name).brief
            if let close = services.min(by: { editDistance($0, name) < editDistance($1, name) }),
                editDistance(close, name) <= 2
            {
                return "\(shown) is not a backend of route \"\(route)\" (did you mean \"\(close)\"?)"
            }
            return "\(shown) is not a backend of route \"\(route)\"; its backends are: "
                + services.joined(separator: ", ")
        case .weightOutOfRange(let weight, let service, let route):
            return "route \"\(route)\": the weight of \"\(service)\" is \(weight), outside 0…1000"
        case .allWeightsZero(let route):
            return "route \"\(route)\": every backend would have weight 0; at least one needs a weight above 0"
        case .noWeights(let route):
            return "route \"\(route)\": no weights given; give one or more of its backends' services with a "
                + "weight 0…1000, e.g. {\"service\": 10}"
        case .malformed(let reason):
            return reason
        }
    }
}
