import GeoIP

/// The `policies`, compiled for the decision: which policy applies to a client (the first in
/// file order whose `match` holds) in a few table reads, and which regions it allows. Nothing is
/// allocated when matching. A class: a decision passes it along without copying its tables.
public final class PolicyTable: Sendable {
    public let policies: [TrafficPolicy]
    /// Whether some policy matches by country, continent or ASN (then the lookup reads them).
    public let needsFacts: Bool
    /// Whether some policy matches by ASN.
    public let needsASN: Bool
    /// Per country code (``TwoLetterCode/index``), the first policy matching it; -1 for none.
    private let byCountry: [Int32]
    private let byContinent: [Int32]
    private let byASN: [UInt32: Int]
    /// Every policy's IPv4 networks, in policy order, as flat arrays (value, mask, policy).
    private let v4Values: [UInt64]
    private let v4Masks: [UInt64]
    private let v4Policies: [Int]
    /// The same for IPv6 (high and low halves).
    private let v6High: [UInt64]
    private let v6Low: [UInt64]
    private let v6MaskHigh: [UInt64]
    private let v6MaskLow: [UInt64]
    private let v6Policies: [Int]
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
        let v4 = networks.filter { $0.network.address.family == .v4 }
        let v6 = networks.filter { $0.network.address.family == .v6 }
        v4Values = v4.map(\.network.address.low)
        v4Masks = v4.map { IPNetwork.mask(prefixLength: $0.network.prefixLength, family: .v4).1 }
        v4Policies = v4.map(\.policy)
        v6High = v6.map(\.network.address.high)
        v6Low = v6.map(\.network.address.low)
        v6MaskHigh = v6.map { IPNetwork.mask(prefixLength: $0.network.prefixLength, family: .v6).0 }
        v6MaskLow = v6.map { IPNetwork.mask(prefixLength: $0.network.prefixLength, family: .v6).1 }
        v6Policies = v6.map(\.policy)
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
        let address = address.unmapped
        if address.family == .v4 {
            let low = address.low
            for index in v4Values.indices {
                if v4Policies[index] >= best { break }
                if low & v4Masks[index] == v4Values[index] {
                    best = v4Policies[index]
                    break
                }
            }
        } else {
            for index in v6High.indices {
                if v6Policies[index] >= best { break }
                if address.high & v6MaskHigh[index] == v6High[index] && address.low & v6MaskLow[index] == v6Low[index] {
                    best = v6Policies[index]
                    break
                }
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
