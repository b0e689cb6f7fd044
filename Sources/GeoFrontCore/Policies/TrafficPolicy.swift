import GeoIP

/// One entry of `policies`: clients it matches may only be sent to its `regions`.
///
/// Policies are tried in file order and the first that matches applies (``PolicyTable``). The
/// nearest available region among `regions` answers; when none is available, a `strict` policy
/// answers 503 (never a region outside the list) and any other falls back to the global rule.
public struct TrafficPolicy: Sendable, Hashable {
    /// Unique among the policies, `[a-z0-9._-]`, at most 63 characters.
    public var name: String
    /// `match.countries`: ISO 3166-1 alpha-2 codes (the record's country, else its registered
    /// country).
    public var countries: [TwoLetterCode]
    /// `match.continents`: the database's two-letter continent codes.
    public var continents: [TwoLetterCode]
    /// `match.cidrs`: client networks (these match addresses in no database record too).
    public var cidrs: [IPNetwork]
    /// `match.asns`: autonomous system numbers (for databases whose records carry one).
    public var asns: [UInt32]
    /// The region names clients of this policy may be sent to.
    public var regions: [String]
    /// No region of the list available: 503 rather than the global rule.
    public var strict: Bool

    public init(
        name: String, countries: [TwoLetterCode] = [], continents: [TwoLetterCode] = [], cidrs: [IPNetwork] = [],
        asns: [UInt32] = [], regions: [String], strict: Bool = false
    ) {
        self.name = name
        self.countries = countries
        self.continents = continents
        self.cidrs = cidrs
        self.asns = asns
        self.regions = regions
        self.strict = strict
    }
}
