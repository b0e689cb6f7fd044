import GeoIP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Great-circle distance by the haversine formula on a sphere of the mean Earth radius.
public enum GreatCircle {
    /// IUGG mean Earth radius, kilometres.
    public static let earthRadiusKm = 6371.0088

    /// A point prepared for repeated distance calculations: radians, the cosine of the latitude,
    /// and the unit vector from the Earth's centre.
    public struct Point: Sendable, Hashable {
        public let latitude: Double
        public let longitude: Double
        public let cosLatitude: Double
        public let x: Double
        public let y: Double
        public let z: Double

        public init(_ coordinate: Coordinate) {
            latitude = coordinate.latitude * .pi / 180
            longitude = coordinate.longitude * .pi / 180
            cosLatitude = cos(latitude)
            x = cosLatitude * cos(longitude)
            y = cosLatitude * sin(longitude)
            z = sin(latitude)
        }
    }

    /// The cosine of the central angle (the dot product of the unit vectors): it falls as distance
    /// grows, so the largest value is the nearest point. Three multiplications, no trigonometry,
    /// which is what a nearest-region scan needs; the distance itself comes from ``haversine(_:_:)``
    /// (well conditioned at short range).
    @inline(__always)
    public static func closeness(_ a: Point, _ b: Point) -> Double {
        a.x * b.x + a.y * b.y + a.z * b.z
    }

    /// The haversine of the central angle, `sin²(Δφ/2) + cos φ₁ cos φ₂ sin²(Δλ/2)`: it grows
    /// monotonically with distance, so comparing it picks the nearest point without `asin`.
    @inline(__always)
    public static func haversine(_ a: Point, _ b: Point) -> Double {
        let sinHalfLatitude = sin((b.latitude - a.latitude) / 2)
        let sinHalfLongitude = sin((b.longitude - a.longitude) / 2)
        return sinHalfLatitude * sinHalfLatitude + a.cosLatitude * b.cosLatitude * sinHalfLongitude * sinHalfLongitude
    }

    /// Kilometres for a value returned by ``haversine(_:_:)``.
    @inline(__always)
    public static func kilometres(haversine h: Double) -> Double {
        2 * earthRadiusKm * asin(min(1, sqrt(max(0, h))))
    }

    public static func distanceKm(_ a: Coordinate, _ b: Coordinate) -> Double {
        kilometres(haversine: haversine(Point(a), Point(b)))
    }
}
