import CMaxMindDB

/// The database's own description of itself, from its metadata section.
public struct GeoIPMetadata: Hashable, Sendable {
    /// e.g. `GeoLite2-City`, `GeoIP2-Country`, `GeoFront-Country`.
    public let databaseType: String
    /// Seconds since the Unix epoch when the database was built.
    public let buildEpoch: UInt64
    public let ipVersion: Int
    public let nodeCount: Int
    public let recordSize: Int
    /// The English description, when there is one.
    public let description: String?

    init(_ mmdb: MMDB_s) {
        let meta = mmdb.metadata
        databaseType = meta.database_type.map { String(cString: $0) } ?? ""
        buildEpoch = meta.build_epoch
        ipVersion = Int(meta.ip_version)
        nodeCount = Int(meta.node_count)
        recordSize = Int(meta.record_size)
        var english: String?
        if let descriptions = meta.description.descriptions {
            for index in 0..<Int(meta.description.count) {
                guard let pair = descriptions[index], let language = pair.pointee.language,
                    let text = pair.pointee.description
                else { continue }
                if String(cString: language) == "en" { english = String(cString: text) }
            }
        }
        description = english
    }

    /// `YYYY-MM-DD` of the build epoch, in UTC.
    public var buildDate: String {
        // Civil-from-days (Howard Hinnant's algorithm), to stay free of Foundation here.
        guard buildEpoch < UInt64(Int64.max) else { return "invalid (\(buildEpoch))" }
        let days = Int64(buildEpoch) / 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))"
    }
}

/// The library version GeoFront is linked against.
public var libmaxminddbVersion: String { String(cString: MMDB_lib_version()) }
