import Foundation

/// Country → centre coordinate, used when a record names a country but has no coordinates
/// (Country-layout databases, or City records without `location`).
///
/// The table file is `geodata/country-centroids.json`:
/// `{"aliases": {"UK": "GB"}, "countries": {"SE": {"lat": 62.0, "lon": 15.0, ...}}, "skip": [...]}`.
/// Lookups index a fixed array by code: no hashing, no allocation.
public struct CountryCentroids: Sendable {
    private var table: [Coordinate?]
    public private(set) var count: Int

    /// An empty table: no fallback.
    public init() {
        table = Array(repeating: nil, count: 26 * 26)
        count = 0
    }

    public init(entries: [TwoLetterCode: Coordinate]) {
        self.init()
        for (code, coordinate) in entries { set(code, coordinate) }
    }

    public init(contentsOf path: String) throws(GeoIPError) {
        self.init()
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw GeoIPError(.invalidCentroidTable, path: path, reason: "cannot read the centroid table")
        }
        struct Entry: Decodable {
            var lat: Double
            var lon: Double
        }
        struct File: Decodable {
            var aliases: [String: String]?
            var countries: [String: Entry]
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw GeoIPError(.invalidCentroidTable, path: path, reason: "not a centroid table: \(error)")
        }
        for (name, entry) in file.countries {
            let coordinate = Coordinate(latitude: entry.lat, longitude: entry.lon)
            guard let code = TwoLetterCode(name), coordinate.isValid else {
                throw GeoIPError(
                    .invalidCentroidTable, path: path,
                    reason: "countries.\(name): needs a two-letter code and a valid latitude/longitude")
            }
            set(code, coordinate)
        }
        for (alias, target) in file.aliases ?? [:] {
            if let from = TwoLetterCode(alias), let to = TwoLetterCode(target), let coordinate = self[to] {
                set(from, coordinate)
            }
        }
    }

    private mutating func set(_ code: TwoLetterCode, _ coordinate: Coordinate) {
        if table[code.index] == nil { count += 1 }
        table[code.index] = coordinate
    }

    @inline(__always)
    public subscript(code: TwoLetterCode) -> Coordinate? {
        table[code.index]
    }
}
