import Foundation
import GeoFrontCore
import GeoIP

extension AdminServer {
    /// `GET /route?ip=…`, with optionally the request `host`, `path` (and query, percent-encoded),
    /// `method`, `header=NAME:VALUE` and `cookie=NAME=VALUE` (both repeatable): the explanation
    /// `geofront route --format json` prints for the same inputs.
    func routeAnswer(uri: String) -> Answer {
        var ips: [String] = []
        var host: String?
        var path = "/"
        var method = "GET"
        var headers: [String] = []
        var cookies: [String] = []
        for (key, value) in Self.split(items: uri).1 {
            switch key {
            case "ip": ips.append(value)
            case "host": host = value
            case "path": path = value
            case "method": method = value
            case "header": headers.append(value)
            case "cookie": cookies.append(value)
            case "token": break
            default:
                return .error(
                    .badRequest, "unknown parameter \(key); allowed: ip, host, path, method, header, cookie")
            }
        }
        guard ips.count == 1, let ip = IPAddress(ips[0]) else {
            return .error(.badRequest, "give ?ip= an IPv4 or IPv6 address")
        }
        let question: RouteQuestion
        do {
            question = try RouteQuestion(method: method, host: host, path: path, headers: headers, cookies: cookies)
        } catch {
            return .error(.badRequest, error.description)
        }
        return .json(server.publisher.current.explain(ip, question: question).json)
    }

    /// The path and the query's parameters in order, percent-decoded (a name may come more than
    /// once).
    static func split(items uri: String) -> (String, [(String, String)]) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var items: [(String, String)] = []
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(keyValue[0]).removingPercentEncoding ?? String(keyValue[0])
                let value =
                    keyValue.count == 2 ? (String(keyValue[1]).removingPercentEncoding ?? String(keyValue[1])) : ""
                items.append((key, value))
            }
        }
        return (String(parts[0]), items)
    }
}
