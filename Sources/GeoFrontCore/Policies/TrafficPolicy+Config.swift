import GeoIP

// The reader of `policies` (called by ConfigLoader once the region names are known).

extension TrafficPolicy {
    static let configKeys = ["name", "match", "regions", "strict"]
    static let matchKeys = ["countries", "continents", "cidrs", "asns"]
    /// The continent codes GeoIP databases use.
    static let continentCodes = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"]

    /// Reads the `policies` array: the valid policies in file order.
    static func readAll(_ value: JSONValue, regionNames: [String], reader: inout ConfigReader) -> [TrafficPolicy] {
        guard let items = reader.array(value, at: "policies") else { return [] }
        var policies: [TrafficPolicy] = []
        var firstIndexByName: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = ConfigReader.join("policies", index)
            guard let fields = reader.object(item, at: path, allowed: configKeys) else { continue }
            let name = reader.uniqueName(
                fields, at: path, index: index, list: "policies", firstIndexByName: &firstIndexByName)
            if let policy = read(fields, at: path, name: name, regionNames: regionNames, reader: &reader) {
                policies.append(policy)
            }
        }
        return policies
    }

    private static func read(
        _ fields: [String: JSONValue], at path: String, name: String?, regionNames: [String],
        reader: inout ConfigReader
    ) -> TrafficPolicy? {
        let before = reader.issues.count
        func key(_ name: String) -> String { ConfigReader.join(path, name) }
        var policy = TrafficPolicy(name: name ?? "", regions: [])
        if let value = reader.required(fields, "match", at: path),
            let match = reader.object(value, at: key("match"), allowed: matchKeys)
        {
            let matchPath = key("match")
            policy.countries = codes(match["countries"], at: ConfigReader.join(matchPath, "countries"), reader: &reader)
            {
                "\($0) is not an ISO 3166-1 alpha-2 country code such as \"DE\""
            }
            policy.continents = codes(
                match["continents"], at: ConfigReader.join(matchPath, "continents"), allowed: continentCodes,
                reader: &reader
            ) { "\($0) is not a continent code; allowed: \(continentCodes.joined(separator: ", "))" }
            if let value = match["cidrs"],
                let networks = reader.networks(value, at: ConfigReader.join(matchPath, "cidrs"))
            {
                policy.cidrs = networks
            }
            if let value = match["asns"], let items = reader.array(value, at: ConfigReader.join(matchPath, "asns")) {
                for (index, item) in items.enumerated() {
                    let itemPath = ConfigReader.join(ConfigReader.join(matchPath, "asns"), index)
                    if let number = reader.integer(item, at: itemPath, in: 1...4_294_967_295) {
                        policy.asns.append(UInt32(number))
                    }
                }
            }
            if reader.issues.count == before && policy.countries.isEmpty && policy.continents.isEmpty
                && policy.cidrs.isEmpty && policy.asns.isEmpty
            {
                reader.fail(matchPath, "needs at least one of countries, continents, cidrs or asns")
            }
        }
        if let value = reader.required(fields, "regions", at: path),
            let items = reader.array(value, at: key("regions"))
        {
            if items.isEmpty { reader.fail(key("regions"), "needs at least one region") }
            for (index, item) in items.enumerated() {
                let itemPath = ConfigReader.join(key("regions"), index)
                guard let region = reader.nonEmptyString(item, at: itemPath) else { continue }
                if !regionNames.contains(region) {
                    reader.fail(itemPath, RoutesConfig.unknownName(region, kind: "region", known: regionNames))
                } else if policy.regions.contains(region) {
                    reader.fail(itemPath, "\(item.brief) is listed twice")
                } else {
                    policy.regions.append(region)
                }
            }
        }
        if let value = fields["strict"], let flag = reader.bool(value, at: key("strict")) {
            policy.strict = flag
        }
        guard name != nil, reader.issues.count == before else { return nil }
        return policy
    }

    /// An array of two-letter codes (upper case in the file).
    private static func codes(
        _ value: JSONValue?, at path: String, allowed: [String]? = nil, reader: inout ConfigReader,
        message: (String) -> String
    ) -> [TwoLetterCode] {
        guard let value, let items = reader.array(value, at: path) else { return [] }
        var codes: [TwoLetterCode] = []
        for (index, item) in items.enumerated() {
            let itemPath = ConfigReader.join(path, index)
            guard let text = reader.string(item, at: itemPath) else { continue }
            let valid =
                text.utf8.count == 2 && text.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
            guard valid, allowed?.contains(text) ?? true, let code = TwoLetterCode(text) else {
                reader.fail(itemPath, message(item.brief))
                continue
            }
            codes.append(code)
        }
        return codes
    }
}
