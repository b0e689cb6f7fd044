import Foundation

/// The `services`, `routes` and `default_route` sections of `regions.json`, validated
/// (``GeoFrontConfig/routes``).
///
/// ``ConfigLoader`` reads them with the rest of the file; ``parse(_:regionNames:mode:loadBalancing:healthCheck:)``
/// reads them alone from a parsed document with the same ``ConfigReader`` rules (every problem
/// with its JSON path, nothing partial returned); ``table()`` compiles the routes for matching.
public struct RoutesConfig: Sendable, Hashable {
    /// The services, sorted by name.
    public var services: [ServiceConfig]
    /// The routes, in file order (the last tie-break of precedence).
    public var routes: [RouteConfig]
    /// `default_route`: the route that takes requests no route matches; nil: they get 404.
    public var defaultRoute: String?

    public init(services: [ServiceConfig] = [], routes: [RouteConfig] = [], defaultRoute: String? = nil) {
        self.services = services
        self.routes = routes
        self.defaultRoute = defaultRoute
    }

    /// The top-level keys these sections use.
    static let configKeys = ["services", "routes", "default_route"]

    /// What a service takes from the rest of the file when it does not say: the global `mode`,
    /// `proxy.lb` and `health_check`.
    struct Inherited {
        var mode: RoutingMode
        var loadBalancing: LoadBalancing
        var healthCheck: HealthCheckSettings?
    }

    /// Reads `services`, `routes` and `default_route` from a whole configuration document (other
    /// top-level keys are left alone). `regionNames` are the regions the file declares; the rest
    /// is what services inherit. Throws every problem found.
    public static func parse(
        _ document: JSONValue, regionNames: [String], mode: RoutingMode = .redirect,
        loadBalancing: LoadBalancing = .roundRobin, healthCheck: HealthCheckSettings? = nil, file: String? = nil
    ) throws(ConfigError) -> RoutesConfig {
        var reader = ConfigReader(baseDirectory: "/")
        guard case .object(let root) = document else {
            throw ConfigError(file: file, issues: [ConfigIssue(path: "", message: "expected an object")])
        }
        let inherited = Inherited(mode: mode, loadBalancing: loadBalancing, healthCheck: healthCheck)
        let config = read(root, regionNames: regionNames, inherited: inherited, reader: &reader)
        guard let config, reader.issues.isEmpty else { throw ConfigError(file: file, issues: reader.issues) }
        return config
    }

    /// The same from JSON text (tests, tools), refusing trailing commas as the loader does.
    public static func parse(_ data: Data, regionNames: [String], mode: RoutingMode = .redirect)
        throws(ConfigError) -> RoutesConfig
    {
        if let position = ConfigLoader.trailingComma(in: data) {
            let message = "malformed JSON: trailing comma at line \(position.line), column \(position.column)"
            throw ConfigError(file: nil, issues: [ConfigIssue(path: "", message: message)])
        }
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigError(
                file: nil,
                issues: [ConfigIssue(path: "", message: "malformed JSON: \(ConfigLoader.jsonReason(error))")])
        }
        return try parse(document, regionNames: regionNames, mode: mode)
    }

    /// The loader's entry: reads the three keys of `root`, reporting to `reader`; nil when
    /// anything was reported.
    static func read(
        _ root: [String: JSONValue], regionNames: [String], inherited: Inherited, reader: inout ConfigReader
    ) -> RoutesConfig? {
        let before = reader.issues.count
        var services: [ServiceConfig] = []
        var serviceNames: Set<String> = []
        if let value = root["services"], value != .null {
            (services, serviceNames) = ServiceConfig.readAll(
                value, regionNames: regionNames, inherited: inherited, reader: &reader)
        }
        var routes: [RouteConfig] = []
        var routeNames: [String] = []
        if let value = root["routes"], value != .null {
            (routes, routeNames) = RouteConfig.readAll(value, serviceNames: serviceNames, reader: &reader)
        }
        var defaultRoute: String?
        if let value = root["default_route"], value != .null,
            let name = reader.nonEmptyString(value, at: "default_route")
        {
            if routeNames.contains(name) {
                defaultRoute = name
            } else {
                reader.fail("default_route", unknownName(name, kind: "route", known: routeNames))
            }
        }
        guard reader.issues.count == before else { return nil }
        return RoutesConfig(services: services, routes: routes, defaultRoute: defaultRoute)
    }

    /// The message for a name that is not among `known`: `"x" is not a service; services are: a,
    /// b`, or `"apl" is not a service (did you mean "api"?)` when one is close.
    static func unknownName(_ name: String, kind: String, known: [String]) -> String {
        let shown = JSONValue.string(name).brief
        if let close = known.min(by: { editDistance($0, name) < editDistance($1, name) }),
            editDistance(close, name) <= 2
        {
            return "\(shown) is not a \(kind) (did you mean \"\(close)\"?)"
        }
        if known.isEmpty { return "\(shown) is not a \(kind); there are no \(kind)s" }
        return "\(shown) is not a \(kind); \(kind)s are: \(known.joined(separator: ", "))"
    }

    /// A service answering with redirects needs a URL in every region it runs in: its own
    /// `redirect_urls` entry or the region's `redirect_url`.
    func checkRedirectURLs(regions: [RegionConfig], reader: inout ConfigReader) {
        for service in services where service.mode == .redirect {
            for region in regions where service.regions.contains(region.name) {
                guard service.redirectURLs[region.name] == nil, region.redirectURL == nil else { continue }
                reader.fail(
                    ConfigReader.join(
                        ConfigReader.join(ConfigReader.join("services", service.name), "redirect_urls"), region.name),
                    "is needed: the service answers with redirects and region \"\(region.name)\" has no redirect_url")
            }
        }
    }

    /// The compiled table for matching requests.
    public func table() -> RouteTable {
        RouteTable(routes: routes, defaultRoute: defaultRoute.flatMap { name in routes.firstIndex { $0.name == name } })
    }
}
