/// What a GeoIP database says about one address, reduced to the fields routing needs.
/// A plain value: no strings, no heap storage.
public struct GeoLocation: Hashable, Sendable {
    /// Where the coordinate came from.
    public enum CoordinateSource: String, Sendable {
        /// `location.latitude` / `location.longitude` of the record.
        case database
        /// The record had a country but no coordinates: the country's centre from the centroid table.
        case countryCentroid = "country_centroid"
    }

    /// The record's coordinate, or the country centroid; nil when neither is known.
    public var coordinate: Coordinate?
    public var coordinateSource: CoordinateSource?
    /// `location.accuracy_radius` in kilometres, when the record has one.
    public var accuracyRadiusKm: UInt16?
    /// `country.iso_code`, else `registered_country.iso_code`.
    public var country: TwoLetterCode?
    /// `continent.code`.
    public var continent: TwoLetterCode?
    /// The database network that matched the address.
    public var network: IPNetwork

    public init(
        coordinate: Coordinate?,
        coordinateSource: CoordinateSource?,
        accuracyRadiusKm: UInt16?,
        country: TwoLetterCode?,
        continent: TwoLetterCode?,
        network: IPNetwork
    ) {
        self.coordinate = coordinate
        self.coordinateSource = coordinateSource
        self.accuracyRadiusKm = accuracyRadiusKm
        self.country = country
        self.continent = continent
        self.network = network
    }
}
