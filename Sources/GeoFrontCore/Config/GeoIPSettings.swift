/// The GeoIP database and the country centroid table (`geoip`).
public struct GeoIPSettings: Sendable, Hashable {
    /// Absolute or working-directory-relative path of the `.mmdb` file.
    public var database: String
    /// Path of the country centroid table; nil disables the fallback.
    public var countryCentroids: String?

    public init(database: String, countryCentroids: String?) {
        self.database = database
        self.countryCentroids = countryCentroids
    }
}

extension GeoIPSettings {
    /// Reads the `geoip` object (its `database` is required); paths resolve against the file's folder.
    static func read(_ value: JSONValue, reader: inout ConfigReader) -> GeoIPSettings? {
        guard let fields = reader.object(value, at: "geoip", allowed: ["database", "country_centroids"]) else {
            return nil
        }
        var database: String?
        if let value = reader.required(fields, "database", at: "geoip"),
            let path = reader.nonEmptyString(value, at: "geoip.database")
        {
            database = reader.resolve(path)
        }
        var centroids: String?
        if let value = fields["country_centroids"], value != .null,
            let path = reader.nonEmptyString(value, at: "geoip.country_centroids")
        {
            centroids = reader.resolve(path)
        }
        guard let database else { return nil }
        return GeoIPSettings(database: database, countryCentroids: centroids)
    }
}
