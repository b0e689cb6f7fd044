import GeoIP

/// The outcome of choosing a region for one client. A plain value: choosing allocates nothing.
public struct RegionChoice: Sendable, Hashable {
    public enum Reason: String, Sendable {
        /// The nearest region to the client's location.
        case nearest
        /// Nearer regions were unavailable; this is the nearest available one.
        case nearestAvailable = "nearest_available"
        /// The client has no location; `default_region` answers.
        case noLocation = "no_location"
        /// The client has no location and `default_region` is unavailable: the available region
        /// nearest to the default region answers.
        case noLocationDefaultUnavailable = "no_location_default_unavailable"
        /// No region is available: the nearest one answers anyway (fail open).
        case allUnavailable = "all_unavailable"
    }

    /// Index into the snapshot's `regions`.
    public let regionIndex: Int
    /// Great-circle distance from the client to the region, when the client has a location.
    public let distanceKm: Double?
    public let reason: Reason
}

/// Where the region is chosen: the nearest available region by great-circle distance.
///
/// Pure and allocation-free: it reads the regions of an immutable snapshot and returns a value.
/// Exact ties go to the region listed first. Without a location the default region answers.
public enum RegionSelector {
    public static func select(
        for location: Coordinate?, regions: borrowing [RegionEntry], defaultIndex: Int
    ) -> RegionChoice {
        guard let location else {
            if regions[defaultIndex].isAvailable {
                return RegionChoice(regionIndex: defaultIndex, distanceKm: nil, reason: .noLocation)
            }
            let fallback = nearest(to: regions[defaultIndex].point, regions: regions)
            return RegionChoice(
                regionIndex: fallback.available ?? defaultIndex, distanceKm: nil,
                reason: fallback.available == nil ? .allUnavailable : .noLocationDefaultUnavailable)
        }
        let point = GreatCircle.Point(location)
        let found = nearest(to: point, regions: regions)
        if let index = found.available {
            return RegionChoice(
                regionIndex: index, distanceKm: GreatCircle.kilometres(haversine: found.availableHaversine),
                reason: index == found.any ? .nearest : .nearestAvailable)
        }
        return RegionChoice(
            regionIndex: found.any, distanceKm: GreatCircle.kilometres(haversine: found.anyHaversine),
            reason: .allUnavailable)
    }

    /// One pass over the regions: the nearest of all, and the nearest available one (by the dot
    /// product of unit vectors, the largest being the nearest; exact ties keep the first), with the
    /// haversine of each winner for its distance.
    @inline(__always)
    static func nearest(to point: GreatCircle.Point, regions: borrowing [RegionEntry]) -> (
        any: Int, anyHaversine: Double, available: Int?, availableHaversine: Double
    ) {
        var any = 0
        var anyCloseness = -Double.infinity
        var available: Int? = nil
        var availableCloseness = -Double.infinity
        var index = 0
        let count = regions.count
        while index < count {
            let closeness = GreatCircle.closeness(point, regions[index].point)
            if closeness > anyCloseness {
                any = index
                anyCloseness = closeness
            }
            if closeness > availableCloseness && regions[index].isAvailable {
                available = index
                availableCloseness = closeness
            }
            index += 1
        }
        let anyHaversine = count > 0 ? GreatCircle.haversine(point, regions[any].point) : .infinity
        let availableHaversine =
            available.map { $0 == any ? anyHaversine : GreatCircle.haversine(point, regions[$0].point) } ?? .infinity
        return (any, anyHaversine, available, availableHaversine)
    }
}
