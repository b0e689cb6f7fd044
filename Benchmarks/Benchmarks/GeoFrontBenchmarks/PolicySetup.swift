import Foundation
import GeoFrontCore
import GeoIP

/// `regions.json` with 50 policies (issue 16's cost target): 20 by countries (three each), 5 by
/// continents, 25 by CIDRs (two networks each, one IPv4 and one IPv6), each allowing two or
/// three regions, ten of them strict; and a bias on three regions.
let policySnapshot: RoutingSnapshot = {
    let data = try! Data(contentsOf: URL(fileURLWithPath: "\(repository)/regions.json"))
    var object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    var regions = object["regions"] as! [[String: Any]]
    let names = regions.map { $0["name"] as! String }
    for (index, bias) in [(0, 20), (3, -15), (6, 30)] { regions[index]["bias"] = bias }
    object["regions"] = regions
    let countries = [
        "AR", "AU", "BR", "CA", "CL", "CN", "CO", "DE", "EG", "ES", "FR", "GB", "ID", "IN", "IT", "JP", "KE", "KR",
        "MX", "NG", "NL", "NZ", "PE", "PH", "PL", "RU", "SA", "SE", "SG", "TH", "TR", "UA", "US", "VN", "ZA", "AT",
        "BE", "CH", "CZ", "DK", "FI", "GR", "HU", "IE", "IL", "MY", "NO", "PK", "PT", "RO",
    ]
    let continents = ["AF", "AS", "EU", "NA", "OC"]
    var policies: [[String: Any]] = []
    for index in 0..<50 {
        var match: [String: Any]
        switch index {
        case 0..<20: match = ["countries": Array(countries[(index * 3 % 48)..<(index * 3 % 48 + 3)])]
        case 20..<25: match = ["continents": [continents[index - 20]]]
        default: match = ["cidrs": ["198.\(index).0.0/16", "2001:db8:\(index)::/48"]]
        }
        let allowed = [names[index % names.count], names[(index + 3) % names.count], names[(index + 7) % names.count]]
        policies.append([
            "name": "policy-\(index)", "match": match, "regions": Array(Set(allowed)).sorted(),
            "strict": index % 5 == 0,
        ])
    }
    // The CIDR policies first, so that every client is checked against every network.
    object["policies"] = Array(policies[25...]) + Array(policies[..<25])
    var config = try! ConfigLoader.parse(JSONSerialization.data(withJSONObject: object), baseDirectory: repository)
    config.geoip.database = databasePath
    return try! RoutingSnapshot.open(config: config)
}()
