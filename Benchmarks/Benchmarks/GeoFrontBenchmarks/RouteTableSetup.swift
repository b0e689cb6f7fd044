import Foundation
import GeoFrontCore
import GeoIP

/// `regions.json` with 200 routes over two services in every region: 60 routes on 30 exact hosts
/// (two path prefixes each), 40 on 20 wildcard hosts, 80 path prefixes on any host and 20 path
/// regexes, plus a `default_route`. What the routing-cost target is measured with.
let routedSnapshot: RoutingSnapshot = {
    let data = try! Data(contentsOf: URL(fileURLWithPath: "\(repository)/regions.json"))
    var object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    let regions = (object["regions"] as! [[String: Any]]).map { $0["name"] as! String }
    var urls: [String: String] = [:]
    for region in regions { urls[region] = "https://\(region).api.example.test" }
    object["services"] = ["api-v1": ["redirect_urls": urls], "api-v2": ["redirect_urls": urls]]
    let backends: [[String: Any]] = [["service": "api-v1", "weight": 90], ["service": "api-v2", "weight": 10]]
    var routes: [[String: Any]] = []
    func add(_ name: String, _ match: [String: Any]) {
        routes.append(["name": name, "match": match, "backends": backends])
    }
    for host in 0..<30 {
        for prefix in ["/v1/", "/static/"] {
            add("exact-\(host)\(prefix.dropLast().replacingOccurrences(of: "/", with: "-"))",
                ["hosts": ["host\(host).example.com"], "path": ["prefix": "\(prefix)"]])
        }
    }
    for host in 0..<20 {
        for prefix in ["/v1/", "/static/"] {
            add("wild-\(host)\(prefix.dropLast().replacingOccurrences(of: "/", with: "-"))",
                ["hosts": ["*.tenant\(host).example.net"], "path": ["prefix": "\(prefix)"]])
        }
    }
    for index in 0..<80 {
        add("prefix-\(index)", ["path": ["prefix": "/app\(index)/section"]])
    }
    for index in 0..<20 {
        add("regex-\(index)", ["path": ["regex": "/items\(index)/[0-9]+/(view|edit)"]])
    }
    object["routes"] = routes
    object["default_route"] = "prefix-0"
    let config = try! ConfigLoader.parse(
        JSONSerialization.data(withJSONObject: object), baseDirectory: repository)
    var withDatabase = config
    withDatabase.geoip.database = databasePath
    return try! RoutingSnapshot.open(config: withDatabase)
}()

/// Request heads that reach each kind of route: an exact host, a wildcard host, a prefix on any
/// host, a regex (tried after every prefix failed), and one no route takes (`default_route`).
let routedRequests: [[UInt8]] = [
    "GET /v1/users/42?x=1 HTTP/1.1\r\nHost: host17.example.com\r\n",
    "GET /static/app.js HTTP/1.1\r\nHost: eu.tenant12.example.net\r\n",
    "GET /app63/section/page HTTP/1.1\r\nHost: www.example.org\r\n",
    "GET /items13/981/view HTTP/1.1\r\nHost: www.example.org\r\n",
    "GET /nothing/here HTTP/1.1\r\nHost: www.example.org\r\n",
].map { Array(($0 + "User-Agent: wrk\r\nAccept: */*\r\nX-Forwarded-For: 89.160.20.112\r\n\r\n").utf8) }
