import Foundation
import GeoIP

/// Who moves when the configuration (or the database) changes: the same client addresses decided
/// by an old and a new snapshot, and where the ones whose answer changes go.
///
/// Each side is the request path's own decision (``RoutingSnapshot/decide(address:)``) without a
/// request: with routes, the regions' own default service. A client's side is the name of the
/// region chosen, or ``unavailable`` when the answer is a 503 (`when_all_down: unavailable` with
/// no region available). A client *moves* when the two names differ. Its country is the old
/// side's database record's (`country`, else `registered_country`), ``unknownCountry`` without
/// one.
///
/// Used by `geofront diff` and admin `POST /preview`; pure: counting only, no I/O.
public struct DecisionDiff: Sendable, Equatable {
    /// The pseudo-region of a 503 answer.
    public static let unavailable = "unavailable"
    /// The country of a client the old database has no country for.
    public static let unknownCountry = "unknown"

    /// One client's two answers.
    public struct Client: Sendable, Hashable {
        public let ip: IPAddress
        /// The old database's country code, nil when it has none.
        public let country: String?
        public let from: String
        public let to: String

        public init(ip: IPAddress, country: String?, from: String, to: String) {
            self.ip = ip
            self.country = country
            self.from = from
            self.to = to
        }

        public var moved: Bool { from != to }
    }

    /// Clients compared.
    public let total: Int
    /// Clients whose answer changed.
    public let moved: Int
    /// Moved clients per old region, per new region (only cells with moves).
    public let matrix: [String: [String: Int]]
    /// Moved clients per country (``unknownCountry`` for those without one).
    public let countries: [String: Int]
    /// Every client per country, moved or not (the "of" in "12 of 40 GB clients moved").
    public let countryTotals: [String: Int]
    /// The first addresses (in input order, at most `examplesPerCell`) of each matrix cell.
    public let examples: [String: [String: [String]]]
    /// Region names in display order: the old side's regions, the new side's new ones, then
    /// ``unavailable`` when it occurs.
    public let regionOrder: [String]

    /// `moved / total`, 0 for no clients.
    public var share: Double { total == 0 ? 0 : Double(moved) / Double(total) }

    /// Counts `clients`. `regionOrder`: names to list first (the others follow by name).
    public init(clients: [Client], regionOrder: [String] = [], examplesPerCell: Int = 3) {
        var matrix: [String: [String: Int]] = [:]
        var countries: [String: Int] = [:]
        var countryTotals: [String: Int] = [:]
        var examples: [String: [String: [String]]] = [:]
        var moved = 0
        for client in clients {
            let country = client.country ?? Self.unknownCountry
            countryTotals[country, default: 0] += 1
            guard client.moved else { continue }
            moved += 1
            matrix[client.from, default: [:]][client.to, default: 0] += 1
            countries[country, default: 0] += 1
            if examples[client.from]?[client.to]?.count ?? 0 < examplesPerCell {
                examples[client.from, default: [:]][client.to, default: []].append(client.ip.description)
            }
        }
        total = clients.count
        self.moved = moved
        self.matrix = matrix
        self.countries = countries
        self.countryTotals = countryTotals
        self.examples = examples
        var order: [String] = []
        var seen: Set<String> = [Self.unavailable]
        let named = Set(clients.flatMap { [$0.from, $0.to] })
        for name in regionOrder + named.sorted() where !seen.contains(name) {
            order.append(name)
            seen.insert(name)
        }
        if clients.contains(where: { $0.from == Self.unavailable || $0.to == Self.unavailable }) {
            order.append(Self.unavailable)
        }
        self.regionOrder = order
    }

    /// Decides every address with both snapshots and counts the moves.
    public init(old: RoutingSnapshot, new: RoutingSnapshot, addresses: [IPAddress], examplesPerCell: Int = 3) {
        let clients = addresses.map { ip in
            Client(
                ip: ip, country: old.database.lookup(ip)?.country?.description,
                from: Self.answer(old.decide(address: ip), in: old), to: Self.answer(new.decide(address: ip), in: new))
        }
        let names = old.ownRegionNames + new.ownRegionNames
        self.init(clients: clients, regionOrder: names, examplesPerCell: examplesPerCell)
    }

    /// The name a decision counts under: its region's, or ``unavailable`` for a 503.
    public static func answer(_ decision: RoutingDecision, in snapshot: RoutingSnapshot) -> String {
        decision.action == .unavailable ? unavailable : snapshot.regions[decision.regionIndex].name
    }

    /// The moves, largest first (ties by region order): (from, to, clients).
    public var cells: [(from: String, to: String, clients: Int)] {
        let rank = Dictionary(uniqueKeysWithValues: regionOrder.enumerated().map { ($1, $0) })
        return matrix.flatMap { from, row in row.map { (from: from, to: $0.key, clients: $0.value) } }
            .sorted {
                if $0.clients != $1.clients { return $0.clients > $1.clients }
                if $0.from != $1.from { return rank[$0.from, default: .max] < rank[$1.from, default: .max] }
                return rank[$0.to, default: .max] < rank[$1.to, default: .max]
            }
    }

    /// Countries by moved clients, most first (ties by code).
    public var rankedCountries: [(code: String, moved: Int, of: Int)] {
        countries.map { (code: $0.key, moved: $0.value, of: countryTotals[$0.key] ?? $0.value) }
            .sorted { $0.moved != $1.moved ? $0.moved > $1.moved : $0.code < $1.code }
    }

    /// `{"total": N, "moved": M, "share": …, "matrix": {from: {to: n}}, "countries": {code: n},
    /// "examples": {from: {to: [ip, …]}}}`: rows and columns in region order, countries most
    /// moved first.
    public var json: String {
        let rows = regionOrder.filter { matrix[$0] != nil }
        func row<Value>(_ values: [String: Value], _ render: (Value) -> String) -> String {
            JSONText.object(regionOrder.compactMap { name in values[name].map { (name, render($0)) } })
        }
        let matrixJSON = JSONText.object(rows.map { ($0, row(matrix[$0]!) { "\($0)" }) })
        let examplesJSON = JSONText.object(
            rows.map { from in
                (from, row(examples[from] ?? [:]) { "[" + $0.map { JSONText.string($0) }.joined(separator: ",") + "]" })
            })
        let countriesJSON = JSONText.object(rankedCountries.map { ($0.code, "\($0.moved)") })
        return JSONText.object([
            ("total", "\(total)"),
            ("moved", "\(moved)"),
            ("share", "\((share * 1_000_000).rounded() / 1_000_000)"),
            ("matrix", matrixJSON),
            ("countries", countriesJSON),
            ("examples", examplesJSON),
        ])
    }
}

extension RoutingSnapshot {
    /// The regions' own names (the default service's entries), in configuration order.
    var ownRegionNames: [String] { regions.prefix(config.regions.count).map(\.name) }

    /// A snapshot of `candidate` that shares this snapshot's open database when the candidate
    /// names the same database and centroid files (opening and verifying a large database takes
    /// a while), else one with its own. `statuses`: per entry of the candidate's deployments, nil
    /// for the initial ones.
    public func candidate(_ candidate: GeoFrontConfig, statuses: [RegionStatus]? = nil) throws(GeoIPError)
        -> RoutingSnapshot
    {
        func same(_ a: String?, _ b: String?) -> Bool {
            a.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
                == b.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        }
        if same(candidate.geoip.database, config.geoip.database)
            && same(candidate.geoip.countryCentroids, config.geoip.countryCentroids)
        {
            return RoutingSnapshot(config: candidate, database: database, statuses: statuses)
        }
        let opened = try RoutingSnapshot.open(config: candidate)
        guard let statuses else { return opened }
        return opened.with(statuses: statuses)
    }
}
