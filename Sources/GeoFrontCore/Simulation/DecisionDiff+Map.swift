import GeoIP

extension DecisionDiff {
    /// The moves on the world map (SVG): every region of either side, an arrow per from → to
    /// pair, thicker for more clients. `geofront diff --svg` and admin `POST /preview?format=svg`.
    public func map(old: RoutingSnapshot, new: RoutingSnapshot) -> String {
        var places: [String: Coordinate] = [:]
        for region in old.config.regions + new.config.regions where places[region.name] == nil {
            places[region.name] = region.location
        }
        let colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
        let names =
            regionOrder.filter { places[$0] != nil } + places.keys.sorted().filter { !regionOrder.contains($0) }
        let marks = names.enumerated().map { index, name in
            WorldMap.RegionMark(
                name: name, coordinate: places[name]!, fill: colours[index % colours.count],
                label: new.config.regions.contains { $0.name == name } ? name : "\(name) (removed)")
        }
        let moves = cells.compactMap { cell -> WorldMap.Move? in
            guard let from = places[cell.from], let to = places[cell.to] else { return nil }
            return WorldMap.Move(from: from, to: to, count: cell.clients)
        }
        let percent = (share * 1000).rounded() / 10
        return WorldMap.svg(regions: marks, moves: moves, title: "\(moved) of \(total) clients move (\(percent)%)")
    }
}
