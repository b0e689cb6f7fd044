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
        guard buildEpoch < UInt64(Int64.max) else { return "invalid (\(buildEpoch))" }
        let (year, month, day) = CivilDate.from(days: Int(Int64(buildEpoch) / 86_400))
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))"
    }
}

/// The library version GeoFront is linked against.
public var libmaxminddbVersion: String { String(cString: MMDB_lib_version()) }
