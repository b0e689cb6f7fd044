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
        /// A strict policy applies and none of its regions is available: 503.
        case policyRefused = "policy_refused"
        /// The client's `affinity` cookie names this region, and it is available and allowed.
        case affinity
    }

    /// Index into the snapshot's `regions`.
    public let regionIndex: Int
    /// Great-circle distance from the client to the region, when the client has a location.
    public let distanceKm: Double?
    public let reason: Reason
    /// The region this one took the request from because it was at its `capacity`.
    public var spilledFrom: Int? = nil
}

/// Where the region is chosen: the nearest available region by great-circle distance.
///
/// Pure and allocation-free: it reads the regions of an immutable snapshot and returns a value.
/// Exact ties go to the region listed first. Without a location the default region answers.
/// A service chooses among its own deployments (a range of the snapshot's entries).
public enum RegionSelector {
    public static func select(
        for location: Coordinate?, regions: borrowing [RegionEntry], defaultIndex: Int
    ) -> RegionChoice {
        select(
            for: location, regions: regions, in: 0..<regions.count, defaultIndex: defaultIndex,
            defaultPoint: regions[defaultIndex].point)
    }

    /// The choice among `regions[range]`. `defaultIndex` is the entry in the default region (nil
    /// when the range has none: then the entry nearest to `defaultPoint`, the default region's
    /// place, answers clients without a location).
    @inline(__always)
    public static func select(
        for location: Coordinate?, regions: borrowing [RegionEntry], in range: Range<Int>, defaultIndex: Int?,
        defaultPoint: GreatCircle.Point
    ) -> RegionChoice {
        guard let location else {
            if let defaultIndex, regions[defaultIndex].isAvailable {
                return RegionChoice(regionIndex: defaultIndex, distanceKm: nil, reason: .noLocation)
            }
            let fallback = nearest(to: defaultPoint, regions: regions, in: range)
            if defaultIndex == nil, let available = fallback.available {
                // The service does not run in the default region: its nearest place answers.
                return RegionChoice(regionIndex: available, distanceKm: nil, reason: .noLocation)
            }
            return RegionChoice(
                regionIndex: fallback.available ?? defaultIndex ?? fallback.any, distanceKm: nil,
                reason: fallback.available == nil ? .allUnavailable : .noLocationDefaultUnavailable)
        }
        let point = GreatCircle.Point(location)
        let found = nearest(to: point, regions: regions, in: range)
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
    static func nearest(to point: GreatCircle.Point, regions: borrowing [RegionEntry], in range: Range<Int>) -> (
        any: Int, anyHaversine: Double, available: Int?, availableHaversine: Double
    ) {
        var any = range.lowerBound
        var anyCloseness = -Double.infinity
        var available: Int? = nil
        var availableCloseness = -Double.infinity
        var index = range.lowerBound
        let end = range.upperBound
        while index < end {
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
        let anyHaversine = range.isEmpty ? .infinity : GreatCircle.haversine(point, regions[any].point)
        let availableHaversine =
            available.map { $0 == any ? anyHaversine : GreatCircle.haversine(point, regions[$0].point) } ?? .infinity
        return (any, anyHaversine, available, availableHaversine)
    }
}
