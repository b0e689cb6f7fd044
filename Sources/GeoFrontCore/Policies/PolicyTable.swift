import GeoIP

/// The `policies`, compiled for the decision: which policy applies to a client (the first in
/// file order whose `match` holds) in a few table reads, and which regions it allows. Nothing is
/// allocated when matching.
public struct PolicyTable: Sendable {
    public let policies: [TrafficPolicy]
    /// Whether some policy matches by country, continent or ASN (then the lookup reads them).
    public let needsFacts: Bool
    /// Whether some policy matches by ASN.
    public let needsASN: Bool
    /// Per country code (``TwoLetterCode/index``), the first policy matching it; -1 for none.
    private let byCountry: [Int32]
    private let byContinent: [Int32]
    private let byASN: [UInt32: Int]
    /// Every policy's networks, in policy order.
    private let networks: [(network: IPNetwork, policy: Int)]
    /// Policies × regions (file order): may the policy's clients go there?
    private let allowed: [Bool]
    private let regionCount: Int

    public init(_ policies: [TrafficPolicy], regionNames: [String]) {
        self.policies = policies
        var byCountry = [Int32](repeating: -1, count: 676)
        var byContinent = [Int32](repeating: -1, count: 676)
        var byASN: [UInt32: Int] = [:]
        var networks: [(network: IPNetwork, policy: Int)] = []
        for (index, policy) in policies.enumerated() {
            for code in policy.countries where byCountry[code.index] < 0 { byCountry[code.index] = Int32(index) }
            for code in policy.continents where byContinent[code.index] < 0 { byContinent[code.index] = Int32(index) }
            for asn in policy.asns where byASN[asn] == nil { byASN[asn] = index }
            networks += policy.cidrs.map { ($0, index) }
        }
        self.byCountry = byCountry
        self.byContinent = byContinent
        self.byASN = byASN
        self.networks = networks
        needsASN = !byASN.isEmpty
        needsFacts = policies.contains { !$0.countries.isEmpty || !$0.continents.isEmpty || !$0.asns.isEmpty }
        regionCount = regionNames.count
        allowed = policies.flatMap { policy in regionNames.map { policy.regions.contains($0) } }
    }

    public var isEmpty: Bool { policies.isEmpty }

    /// The policy that applies to a client: the first in file order whose match holds. An address
    /// in no database record has no facts, so only `cidrs` can match it.
    @inline(__always)
    public func policy(for address: IPAddress, facts: GeoIPDatabase.PolicyFacts) -> Int? {
        var best = Int.max
        if let country = facts.country {
            let index = Int(byCountry[country.index])
            if index >= 0 { best = index }
        }
        if let continent = facts.continent {
            let index = Int(byContinent[continent.index])
            if index >= 0 && index < best { best = index }
        }
        if let asn = facts.asn, let index = byASN[asn], index < best { best = index }
        for entry in networks {
            if entry.policy >= best { break }
            if entry.network.contains(address) {
                best = entry.policy
                break
            }
        }
        return best == .max ? nil : best
    }

    /// Whether policy `policy`'s clients may go to the region with index `region` (file order).
    @inline(__always)
    public func allows(_ policy: Int, region: Int) -> Bool {
        allowed[policy * regionCount + region]
    }
}
