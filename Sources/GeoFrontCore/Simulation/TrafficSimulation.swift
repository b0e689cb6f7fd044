import Foundation
import GeoIP

/// Where a population of clients would be sent: every address is routed by the request path's own
/// decision (``RoutingSnapshot/decide(address:)``, over the snapshot's regions and their
/// availability), and the results are counted per region.
///
/// Used by `geofront simulate`; works offline from a snapshot alone.
public struct TrafficSimulation: Sendable {
    /// One simulated client.
    public struct Client: Sendable, Hashable {
        public let ip: IPAddress
        /// The coordinate routing used (record or country centroid); nil without a location.
        public let coordinate: Coordinate?
        /// Index into the snapshot's regions.
        public let regionIndex: Int
        public let distanceKm: Double?
        public let reason: RegionChoice.Reason
    }

    /// What one region would receive.
    public struct RegionStats: Sendable, Hashable {
        public let name: String
        public let coordinate: Coordinate
        public let isAvailable: Bool
        /// Why the region is unavailable ("drained", …), nil when available.
        public let unavailableReason: String?
        /// Every client routed here, with or without a location.
        public let clients: Int
        /// `clients` over all simulated clients, 0...1 (0 when there are none).
        public let share: Double
        /// Clients routed here that had no location (the default region, or its fallback).
        public let withoutLocation: Int
        /// Median distance of the located clients in kilometres (the mean of the two middle values
        /// for an even count); nil when no located client was routed here.
        public let medianKm: Double?
        /// 95th-percentile distance of the located clients, nearest-rank (the ⌈0.95·n⌉-th smallest).
        public let p95Km: Double?

        /// Clients routed here that had a location: the ones the distance statistics describe.
        public var located: Int { clients - withoutLocation }
    }

    public let regions: [RegionStats]
    /// Every client in input order.
    public let clients: [Client]
    /// The name of `default_region`, which answers clients without a location.
    public let defaultRegion: String
    /// Clients without a usable location (not in the database, or a record without coordinates
    /// and without a centroid).
    public let withoutLocation: Int
    /// Of those, addresses the database has no record for.
    public let notInDatabase: Int
    /// Clients that would get a 503 (`when_all_down: unavailable` and no region available).
    public let refused: Int

    public var total: Int { clients.count }

    /// Routes every address in `addresses` with `snapshot`.
    public init(snapshot: RoutingSnapshot, addresses: [IPAddress]) {
        var clients: [Client] = []
        clients.reserveCapacity(addresses.count)
        var distances = [[Double]](repeating: [], count: snapshot.regions.count)
        var counts = [Int](repeating: 0, count: snapshot.regions.count)
        var unlocated = [Int](repeating: 0, count: snapshot.regions.count)
        var notInDatabase = 0
        var refused = 0
        for ip in addresses {
            let decision = snapshot.decide(address: ip)
            let choice = decision.choice
            let coordinate = decision.coordinate
            if !decision.reasons.lookup.found { notInDatabase += 1 }
            if decision.action == .unavailable { refused += 1 }
            counts[choice.regionIndex] += 1
            if let distance = choice.distanceKm {
                distances[choice.regionIndex].append(distance)
            } else {
                unlocated[choice.regionIndex] += 1
            }
            clients.append(
                Client(
                    ip: ip, coordinate: coordinate, regionIndex: choice.regionIndex, distanceKm: choice.distanceKm,
                    reason: choice.reason))
        }
        let total = addresses.count
        self.regions = snapshot.regions.indices.map { index in
            let entry = snapshot.regions[index]
            let sorted = distances[index].sorted()
            return RegionStats(
                name: entry.name, coordinate: entry.config.location, isAvailable: entry.isAvailable,
                unavailableReason: snapshot.statuses[index].unavailableReason, clients: counts[index],
                share: total == 0 ? 0 : Double(counts[index]) / Double(total), withoutLocation: unlocated[index],
                medianKm: Self.median(sorted), p95Km: Self.percentile(95, sorted))
        }
        self.clients = clients
        self.defaultRegion = snapshot.config.defaultRegion
        self.withoutLocation = unlocated.reduce(0, +)
        self.notInDatabase = notInDatabase
        self.refused = refused
    }

    /// The median of sorted values: the middle one, or the mean of the two middle ones.
    static func median(_ sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The nearest-rank percentile of sorted values: the ⌈p/100·n⌉-th smallest.
    static func percentile(_ p: Int, _ sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = (p * sorted.count + 99) / 100
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}

// MARK: - JSON

extension TrafficSimulation {
    /// One JSON object: totals, one entry per region (config order) and the clients without a
    /// location. Shares are percentages, distances kilometres to 0.1.
    public var json: String {
        let regionObjects = regions.map { region in
            JSONText.object([
                ("region", JSONText.string(region.name)),
                ("available", region.isAvailable ? "true" : "false"),
                ("unavailable_reason", region.unavailableReason.map { JSONText.string($0) } ?? "null"),
                ("clients", String(region.clients)),
                ("share_percent", Self.number(region.share * 100, places: 3)),
                ("located", String(region.located)),
                ("without_location", String(region.withoutLocation)),
                ("median_km", region.medianKm.map { Self.number($0, places: 1) } ?? "null"),
                ("p95_km", region.p95Km.map { Self.number($0, places: 1) } ?? "null"),
            ])
        }
        let withoutLocation = JSONText.object([
            ("clients", String(withoutLocation)),
            ("share_percent", Self.number(total == 0 ? 0 : Double(withoutLocation) * 100 / Double(total), places: 3)),
            ("not_in_database", String(notInDatabase)),
            ("no_coordinates", String(withoutLocation - notInDatabase)),
            ("default_region", JSONText.string(defaultRegion)),
        ])
        return JSONText.object([
            ("clients", String(total)),
            ("ipv4", String(clients.count { $0.ip.family == .v4 })),
            ("ipv6", String(clients.count { $0.ip.family == .v6 })),
            ("regions", "[" + regionObjects.joined(separator: ",") + "]"),
            ("without_location", withoutLocation),
            ("refused", String(refused)),
        ])
    }

    /// A JSON number rounded to `places` decimals, without trailing zeros.
    private static func number(_ value: Double, places: Int) -> String {
        var text = String(format: "%.\(places)f", value)
        while text.contains(".") && (text.hasSuffix("0") || text.hasSuffix(".")) { text.removeLast() }
        return text == "-0" ? "0" : text
    }

}

// MARK: - Random public addresses

extension TrafficSimulation {
    /// SplitMix64 (Steele, Lea & Flood 2014): a tiny seeded generator. The same seed gives the same
    /// sequence on every platform and Swift version (no standard-library sampling is involved).
    struct SplitMix64: RandomNumberGenerator {
        private var state: UInt64

        init(seed: UInt64) { state = seed }

        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }

        /// Uniform in `0..<bound` (Lemire's multiply-and-reject), `bound` > 0.
        mutating func below(_ bound: UInt64) -> UInt64 {
            precondition(bound > 0)
            while true {
                let product = next().multipliedFullWidth(by: bound)
                if product.low >= (0 &- bound) % bound { return product.high }
            }
        }

        /// Uniform in `0..<1` with 53 random bits.
        mutating func unit() -> Double {
            Double(next() >> 11) * 0x1p-53
        }
    }

    /// IPv4 ranges that are not public unicast: this network, private, shared (CGNAT), loopback,
    /// link-local, IETF protocol assignments, documentation, benchmarking, multicast, reserved.
    static let reservedIPv4: [(base: UInt32, prefix: Int)] = [
        (0x0000_0000, 8),  // 0.0.0.0/8
        (0x0a00_0000, 8),  // 10.0.0.0/8
        (0x6440_0000, 10),  // 100.64.0.0/10
        (0x7f00_0000, 8),  // 127.0.0.0/8
        (0xa9fe_0000, 16),  // 169.254.0.0/16
        (0xac10_0000, 12),  // 172.16.0.0/12
        (0xc000_0000, 24),  // 192.0.0.0/24
        (0xc000_0200, 24),  // 192.0.2.0/24
        (0xc0a8_0000, 16),  // 192.168.0.0/16
        (0xc612_0000, 15),  // 198.18.0.0/15
        (0xc633_6400, 24),  // 198.51.100.0/24
        (0xcb00_7100, 24),  // 203.0.113.0/24
        (0xe000_0000, 4),  // 224.0.0.0/4
        (0xf000_0000, 4),  // 240.0.0.0/4 (and 255.255.255.255)
    ]

    /// IPv6 ranges inside 2000::/3 that are not public unicast, as (upper 64 bits, prefix length):
    /// IETF protocol assignments 2001::/23 (Teredo 2001::/32, benchmarking, ORCHID), documentation
    /// 2001:db8::/32 and 3fff::/20, and 6to4 2002::/16.
    static let reservedIPv6: [(high: UInt64, prefix: Int)] = [
        (0x2001_0000_0000_0000, 23),
        (0x2001_0db8_0000_0000, 32),
        (0x2002_0000_0000_0000, 16),
        (0x3fff_0000_0000_0000, 20),
    ]

    /// Large IPv6 allocations of big access networks (mobile and broadband providers), with rough
    /// relative weights after each country's IPv6 users. Each block lies wholly in one country in
    /// `geodata/geofront-country.mmdb` (checked against the 2026-11 build).
    ///
    /// Not the registries' whole blocks (2400::/12, 2a00::/12, …): most of that space is not
    /// assigned yet, and the IPFire data tags it with the registry's home (APNIC space: AU,
    /// AFRINIC space: MU, RIPE space: the continent code EU), so uniform addresses there would
    /// put most "IPv6 clients" in Brisbane, Mauritius or the middle of Europe.
    static let accessNetworks: [(network: IPNetwork, weight: Int)] = {
        let table: [(String, Int)] = [
            // North America
            ("2601::/20", 8), ("2607:fb90::/28", 4), ("2600:1600::/24", 2), ("2806:1000::/24", 2),
            // South America
            ("2804:d40::/27", 4), ("2804:14c::/32", 1), ("2800:2000::/20", 1), ("2800:150::/32", 1),
            ("2800:e0::/28", 1),
            // Europe
            ("2003::/19", 5), ("2a01:cb00::/24", 3), ("2a01:e00::/26", 1), ("2a00:23c0::/26", 2),
            ("2a02:c7c::/30", 1), ("2001:1c00::/23", 1), ("2a01:2000::/20", 1), ("2a02:9000::/23", 1),
            ("2a01:1000::/21", 1), ("2a00:840::/26", 1), ("2001:4600::/24", 1), ("2001:998::/29", 1),
            ("2a02:6b8::/29", 1),
            // Asia
            ("2409:4000::/22", 10), ("240e::/20", 4), ("2408:8000::/20", 3), ("2409:8000::/20", 4),
            ("2400:2000::/20", 2), ("2001:268::/32", 1), ("2400::/20", 2), ("2001:b000::/21", 1),
            ("2001:ee0::/30", 2), ("2001:4450::/29", 1), ("2404:8d00::/29", 1), ("2400:c800::/29", 1),
            ("240b:4000::/22", 1), ("2400:adc0::/27", 1), ("2400:ca00::/28", 1),
            // Oceania
            ("2001:8000::/20", 2), ("2404:4400::/28", 1),
            // Africa and the Middle East
            ("2c0e:2000::/20", 1), ("2001:4270::/32", 1), ("2c0e::/20", 1), ("2001:4358::/32", 1),
            ("2001:8f8::/29", 1), ("2001:1490::/29", 1), ("2a10:8000::/27", 1),
        ]
        return table.map { (IPNetwork($0.0)!, $0.1) }
    }()

    /// Whether `ip` lies in one of the ranges the generator leaves out (IPv6 outside 2000::/3 counts
    /// as reserved too).
    public static func isReserved(_ ip: IPAddress) -> Bool {
        switch ip.family {
        case .v4:
            return reservedIPv4.contains { ip.v4Value >> UInt32(32 - $0.prefix) == $0.base >> UInt32(32 - $0.prefix) }
        case .v6:
            if ip.high >> 61 != 0b001 { return true }
            return reservedIPv6.contains { ip.high >> UInt64(64 - $0.prefix) == $0.high >> UInt64(64 - $0.prefix) }
        }
    }

    /// `count` public unicast addresses, the same list for the same seed: about 80 % IPv4, uniform
    /// over the public IPv4 space (none of ``reservedIPv4``), and 20 % IPv6 in 2000::/3, mostly
    /// (90 %) from ``accessNetworks`` so that a database places them in real countries; the rest
    /// anywhere in 2000::/3 (mostly unassigned: clients without a location).
    ///
    /// Uniform over address space is not uniform over users: regions holding large legacy IPv4
    /// blocks (the USA above all) get more than their share of people.
    public static func randomPublicAddresses(count: Int, seed: UInt64) -> [IPAddress] {
        var random = SplitMix64(seed: seed)
        var addresses: [IPAddress] = []
        addresses.reserveCapacity(max(0, count))
        while addresses.count < count {
            let isIPv4 = random.below(10) < 8
            var ip: IPAddress
            repeat {
                ip = isIPv4 ? IPAddress(v4: UInt32(truncatingIfNeeded: random.next())) : randomIPv6(&random)
            } while isReserved(ip)
            addresses.append(ip)
        }
        return addresses
    }

    /// 90 %: an access network chosen by weight, 10 %: anywhere in 2000::/3.
    private static func randomIPv6(_ random: inout SplitMix64) -> IPAddress {
        guard random.below(10) < 9 else {
            return IPAddress(v6: 0x2000_0000_0000_0000 | random.next() >> 3, random.next())
        }
        var pick = random.below(UInt64(accessNetworks.reduce(0) { $0 + $1.weight }))
        var network = accessNetworks[0].network
        for candidate in accessNetworks {
            if pick < UInt64(candidate.weight) {
                network = candidate.network
                break
            }
            pick -= UInt64(candidate.weight)
        }
        // Every prefix in the table is shorter than 64 bits.
        return IPAddress(v6: network.address.high | random.next() >> UInt64(network.prefixLength), random.next())
    }
}
