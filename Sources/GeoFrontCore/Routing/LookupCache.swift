import GeoIP

/// A memo of GeoIP lookups, one per event loop: the last answer for each of a few thousand
/// recently seen client addresses, so a returning client costs a compare instead of a walk of the
/// database's search tree (about 1.5 µs with the benchmark's database, a sixth of a redirect's
/// CPU). Direct-mapped, fixed size, never allocates after `init`; a database is immutable, so an
/// answer stays true until another database is asked (a reload), which empties the memo.
/// Confined to one event loop (not `Sendable`).
public struct LookupCache {
    private struct Entry {
        var address = IPAddress(v4: 0)
        var lookup = RoutingDecision.Lookup.notFound
        var coordinate: Coordinate?
        var filled = false
        /// `facts` were read (a configuration with policies asked).
        var hasFacts = false
        /// `facts.asn` was read.
        var readASN = false
        var facts = GeoIPDatabase.PolicyFacts()
    }

    private var entries: [Entry]
    /// 64 − log2(entries.count): the top bits of a multiplicative hash pick the entry.
    private let shift: UInt64
    private var database: ObjectIdentifier?
    public private(set) var hits = 0
    public private(set) var misses = 0

    /// `capacity` is rounded up to a power of two.
    public init(capacity: Int = 4096) {
        var size = 2
        var bits: UInt64 = 1
        while size < capacity {
            size <<= 1
            bits += 1
        }
        entries = Array(repeating: Entry(), count: size)
        shift = 64 - bits
    }

    /// What `database` says of `address`, from the memo when it holds the answer.
    @inline(__always)
    public mutating func locate(_ address: IPAddress, in database: GeoIPDatabase) -> (
        RoutingDecision.Lookup, Coordinate?
    ) {
        let index = slot(for: address, in: database)
        let entry = entries[index]
        if entry.filled && entry.address == address {
            hits &+= 1
            return (entry.lookup, entry.coordinate)
        }
        misses &+= 1
        let (lookup, coordinate) = database.locateForRouting(address)
        entries[index] = Entry(address: address, lookup: lookup, coordinate: coordinate, filled: true)
        return (lookup, coordinate)
    }

    /// ``locate(_:in:)`` with the record's policy facts (country, continent, and the ASN when
    /// `asn`), for a configuration with policies.
    @inline(__always)
    public mutating func locateWithFacts(_ address: IPAddress, in database: GeoIPDatabase, asn: Bool) -> (
        RoutingDecision.Lookup, Coordinate?, GeoIPDatabase.PolicyFacts
    ) {
        let index = slot(for: address, in: database)
        let entry = entries[index]
        if entry.filled && entry.hasFacts && (entry.readASN || !asn) && entry.address == address {
            hits &+= 1
            return (entry.lookup, entry.coordinate, entry.facts)
        }
        misses &+= 1
        let (lookup, coordinate, facts) = database.locateWithFactsForRouting(address, asn: asn)
        entries[index] = Entry(
            address: address, lookup: lookup, coordinate: coordinate, filled: true, hasFacts: true, readASN: asn,
            facts: facts)
        return (lookup, coordinate, facts)
    }

    /// The entry `address` maps to; the memo is emptied first when another database is asked.
    @inline(__always)
    private mutating func slot(for address: IPAddress, in database: GeoIPDatabase) -> Int {
        let id = ObjectIdentifier(database)
        if id != self.database {
            self.database = id
            for index in entries.indices { entries[index].filled = false }
        }
        let mixed = (address.high &* 0xC2B2_AE3D_27D4_EB4F) ^ (address.low &* 0x9E37_79B9_7F4A_7C15)
        return Int(truncatingIfNeeded: mixed >> shift)
    }
}
