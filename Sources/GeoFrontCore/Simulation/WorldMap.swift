import Foundation
import GeoIP

/// A world map as one self-contained SVG 1.1 document: no scripts, no external fonts, styles or
/// images, every text escaped. Equirectangular projection: `x = (lon + 180) / 360 × width`,
/// `y = (90 − lat) / 180 × height`.
///
/// Layers, bottom to top: ocean, a 30° graticule, land (Natural Earth's coastlines, see
/// `WorldLand`), optional background points, client dots coloured by their region, moves (arrows
/// from one place to another, thicker for more clients: what a change would move), region dots
/// with their names, the title and a legend. Used by `geofront simulate --svg` (regions coloured
/// by palette and sized by traffic share) and the admin status page (regions coloured by health).
public enum WorldMap {
    /// A region on the map: a dot of `fill` and `radius` pixels at `coordinate`, its `name` beside
    /// it and `label` (or the name) in the legend.
    public struct RegionMark: Sendable, Hashable {
        public var name: String
        public var coordinate: Coordinate
        /// An SVG colour (`#1f77b4`, `red`, …).
        public var fill: String
        public var radius: Double
        /// The legend text; nil for the name alone.
        public var label: String?

        public init(name: String, coordinate: Coordinate, fill: String, radius: Double = 6, label: String? = nil) {
            self.name = name
            self.coordinate = coordinate
            self.fill = fill
            self.radius = radius
            self.label = label
        }
    }

    /// Clients at `coordinate` sent to `regions[regionIndex]`: a small semi-transparent dot in the
    /// region's fill. Marks of one region at the same point are merged into one dot that grows
    /// with the number of clients (country-level data puts a whole country on one point).
    public struct ClientMark: Sendable, Hashable {
        public var coordinate: Coordinate
        public var regionIndex: Int
        public var count: Int

        public init(coordinate: Coordinate, regionIndex: Int, count: Int = 1) {
            self.coordinate = coordinate
            self.regionIndex = regionIndex
            self.count = count
        }
    }

    /// Clients that would move from one place to another (e.g. from one region to another after a
    /// configuration change): a curved arrow from `from` to `to`, its thickness growing with
    /// `count` relative to the largest move on the map, `count` written at its middle. An arrow
    /// ending (or starting) at a region's coordinate stops at the edge of the region's dot.
    public struct Move: Sendable, Hashable {
        public var from: Coordinate
        public var to: Coordinate
        public var count: Int
        /// An SVG colour.
        public var stroke: String

        public init(from: Coordinate, to: Coordinate, count: Int, stroke: String = WorldMap.moveStroke) {
            self.from = from
            self.to = to
            self.count = count
            self.stroke = stroke
        }
    }

    /// The default colour of a ``Move``.
    public static let moveStroke = "#c2185b"

    /// Region colours by health, for status pages.
    public enum Health: Sendable, Hashable {
        case available
        case unavailable
        case drained

        public var fill: String {
            switch self {
            case .available: return "#2ca02c"
            case .unavailable: return "#d62728"
            case .drained: return "#9e9e9e"
            }
        }
    }

    /// Distinguishable colours, by region index (repeats after twelve regions).
    public static let palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#17becf", "#bcbd22", "#393b79", "#e7ba52", "#637939",
    ]

    public static func colour(forRegion index: Int) -> String {
        palette[((index % palette.count) + palette.count) % palette.count]
    }

    /// A region dot's radius for a traffic share in 0...1: area grows with the share, from 4 px
    /// (no traffic) to 20 px (all of it).
    public static func radius(forShare share: Double) -> Double {
        4 + 16 * max(0, min(1, share.isFinite ? share : 0)).squareRoot()
    }

    /// Pixel position of `coordinate` on a `width` × `height` map.
    public static func project(_ coordinate: Coordinate, width: Int, height: Int) -> (x: Double, y: Double) {
        ((coordinate.longitude + 180) / 360 * Double(width), (90 - coordinate.latitude) / 180 * Double(height))
    }

    private static let ocean = "#dceaf4"
    private static let graticule = "#b3cde0"
    private static let land = "#e9e3d3"
    private static let coast = "#a39a84"
    private static let dots = "#b9b3a5"
    private static let ink = "#222222"
    private static let font = "Helvetica, Arial, sans-serif"

    /// The SVG document. `land` draws the coastlines; `background` adds points (e.g. country
    /// centres) on top of the land.
    public static func svg(
        regions: [RegionMark], clients: [ClientMark] = [], moves: [Move] = [], background: [Coordinate] = [],
        land: Bool = true, title: String, width: Int = 1000, height: Int = 500
    ) -> String {
        let width = max(1, width)
        let height = max(1, height)
        let scale = min(Double(width) / 1000, Double(height) / 500)
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(width)\" height=\"\(height)\""
        out += " viewBox=\"0 0 \(width) \(height)\">\n"
        out += "<title>\(escape(title))</title>\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"\(ocean)\"/>\n"

        // Graticule every 30°.
        var lines: [String] = []
        for longitude in stride(from: -150, through: 150, by: 30) {
            let x = number(Double(longitude + 180) / 360 * Double(width))
            lines.append("M\(x) 0V\(height)")
        }
        for latitude in stride(from: -60, through: 60, by: 30) {
            let y = number(Double(90 - latitude) / 180 * Double(height))
            lines.append("M0 \(y)H\(width)")
        }
        out += "<path d=\"\(lines.joined(separator: " "))\" fill=\"none\" stroke=\"\(graticule)\""
        out += " stroke-width=\"0.8\"/>\n"

        // Land: a path on a 3600 × 1800 grid of tenths of a degree, scaled to the map.
        if land {
            let scaleX = Double(width) / 3600
            let scaleY = Double(height) / 1800
            out += "<path d=\"\(WorldLand.pathData)\" transform=\"scale(\(decimal(scaleX)) \(decimal(scaleY)))\""
            out += " fill=\"\(Self.land)\" stroke=\"\(coast)\" stroke-width=\"\(decimal(0.7 / min(scaleX, scaleY)))\""
            out += " stroke-linejoin=\"round\"/>\n"
        }

        // Background points.
        if !background.isEmpty {
            out += "<g fill=\"\(dots)\">\n"
            let radius = number(2.2 * scale)
            for point in background where point.isValid {
                let (x, y) = project(point, width: width, height: height)
                out += "<circle cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"\(radius)\"/>\n"
            }
            out += "</g>\n"
        }

        // Clients, merged per region and pixel, largest first so small dots stay visible.
        let merged = mergeClients(clients, width: width, height: height)
        if !merged.isEmpty {
            out += "<g fill-opacity=\"0.45\" stroke-opacity=\"0.8\" stroke-width=\"0.6\">\n"
            for dot in merged {
                let fill = regions.indices.contains(dot.regionIndex) ? regions[dot.regionIndex].fill : "#555555"
                let radius = (1.5 + 1.5 * log2(Double(dot.count))) * scale
                out += "<circle cx=\"\(number(dot.x))\" cy=\"\(number(dot.y))\" r=\"\(number(radius))\""
                out += " fill=\"\(escape(fill))\" stroke=\"\(escape(fill))\"/>\n"
            }
            out += "</g>\n"
        }

        // Moves, largest first so smaller ones stay visible on top.
        var labels = ""
        let drawnMoves = moves.filter { $0.from.isValid && $0.to.isValid && $0.count > 0 }
        if let largest = drawnMoves.map(\.count).max() {
            out += "<g stroke-linecap=\"round\" stroke-opacity=\"0.85\" fill-opacity=\"0.85\">\n"
            for move in drawnMoves.enumerated().sorted(by: {
                ($0.element.count, -$0.offset) > ($1.element.count, -$1.offset)
            }) {
                let drawn = arrow(
                    move.element, largest: largest, regions: regions, width: width, height: height, scale: scale)
                out += drawn.shape
                labels += drawn.label
            }
            out += "</g>\n"
        }

        // Regions and their names.
        out += "<g stroke=\"\(ink)\" stroke-width=\"1.5\">\n"
        for region in regions where region.coordinate.isValid {
            let (x, y) = project(region.coordinate, width: width, height: height)
            let radius = max(1, region.radius.isFinite ? region.radius : 6)
            out += "<circle cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"\(number(radius))\""
            out += " fill=\"\(escape(region.fill))\"/>\n"
            let textWidth = Double(region.name.count) * 6.2
            let onRight = x + radius + 4 + textWidth <= Double(width)
            let labelX = onRight ? x + radius + 4 : x - radius - 4
            labels += text(
                region.name, x: labelX, y: y + 4, size: 11, anchor: onRight ? "start" : "end", bold: true)
        }
        out += "</g>\n"
        out += "<g>\n" + labels + "</g>\n"

        out += text(title, x: 12, y: 24, size: 16, anchor: "start", bold: true)
        out += legend(regions: regions, showsClients: !merged.isEmpty, showsMoves: !drawnMoves.isEmpty, height: height)
        out += "</svg>\n"
        return out
    }

    /// One move: the curve and its arrowhead, and its count as a label (drawn above the regions).
    /// The curve bends to the left of its direction, so moves both ways between two places
    /// stay apart.
    private static func arrow(
        _ move: Move, largest: Int, regions: [RegionMark], width: Int, height: Int, scale: Double
    ) -> (shape: String, label: String) {
        let start = project(move.from, width: width, height: height)
        let end = project(move.to, width: width, height: height)
        let length = ((end.x - start.x) * (end.x - start.x) + (end.y - start.y) * (end.y - start.y)).squareRoot()
        guard length >= 1 else { return ("", "") }
        // A region dot's radius at a coordinate, for the gap between it and the arrow.
        func gap(at coordinate: Coordinate) -> Double {
            let radius = regions.first { $0.coordinate == coordinate }.map { $0.radius.isFinite ? $0.radius : 6 }
            return (radius ?? 0) + 3 * scale
        }
        let thickness = (1.5 + 6.5 * (Double(move.count) / Double(largest)).squareRoot()) * scale
        // The control point lies off the middle by 18 % of the length, and by at least 40 px (at most
        // the length) so that a short move between neighbours still shows a visible arc.
        let bend = min(max(0.18 * length, 40 * scale), length) / length
        let control = (
            x: (start.x + end.x) / 2 + (end.y - start.y) * bend, y: (start.y + end.y) / 2 - (end.x - start.x) * bend
        )
        func toward(_ from: (x: Double, y: Double), _ to: (x: Double, y: Double), by distance: Double) -> (
            x: Double, y: Double
        ) {
            let dx = to.x - from.x
            let dy = to.y - from.y
            let norm = max(1e-9, (dx * dx + dy * dy).squareRoot())
            return (from.x + dx / norm * distance, from.y + dy / norm * distance)
        }
        let curveStart = toward(start, control, by: min(gap(at: move.from), length / 3))
        let tip = toward(end, control, by: min(gap(at: move.to), length / 3))
        let headLength = min(3 * thickness + 5 * scale, length / 3)
        let base = toward(tip, control, by: headLength)
        let unit = (x: (tip.x - base.x) / headLength, y: (tip.y - base.y) / headLength)
        let halfWidth = 1.4 * thickness + 2.5 * scale
        let stroke = escape(move.stroke)
        var shape =
            "<path d=\"M\(number(curveStart.x)) \(number(curveStart.y))Q\(number(control.x)) \(number(control.y))"
        shape += " \(number(base.x)) \(number(base.y))\" fill=\"none\" stroke=\"\(stroke)\""
        shape += " stroke-width=\"\(number(thickness))\"/>\n"
        shape += "<polygon points=\"\(number(tip.x)),\(number(tip.y))"
        shape += " \(number(base.x - unit.y * halfWidth)),\(number(base.y + unit.x * halfWidth))"
        shape +=
            " \(number(base.x + unit.y * halfWidth)),\(number(base.y - unit.x * halfWidth))\" fill=\"\(stroke)\"/>\n"
        // The label sits on the curve's middle point.
        let middle = (
            x: 0.25 * start.x + 0.5 * control.x + 0.25 * end.x, y: 0.25 * start.y + 0.5 * control.y + 0.25 * end.y
        )
        let label = text(String(move.count), x: middle.x, y: middle.y + 4, size: 11, anchor: "middle", bold: false)
        return (shape, label)
    }

    /// The legend box in the lower left corner: one row per region, one explaining client dots
    /// and one explaining moves.
    private static func legend(regions: [RegionMark], showsClients: Bool, showsMoves: Bool, height: Int) -> String {
        let rows = regions.map { $0.label ?? $0.name }
        let clientNote = "clients (bigger: more at one place)"
        let moveNote = "moves (thicker: more clients)"
        let all = rows + (showsClients ? [clientNote] : []) + (showsMoves ? [moveNote] : [])
        guard !all.isEmpty else { return "" }
        let rowHeight = 16.0
        let boxWidth = 34 + Double(all.map(\.count).max() ?? 0) * 6.0
        let boxHeight = Double(all.count) * rowHeight + 10
        let left = 10.0
        let top = Double(height) - 10 - boxHeight
        var out = "<g>\n"
        out += "<rect x=\"\(number(left))\" y=\"\(number(top))\" width=\"\(number(boxWidth))\""
        out += " height=\"\(number(boxHeight))\" rx=\"4\" fill=\"#ffffff\" fill-opacity=\"0.85\""
        out += " stroke=\"#8899aa\" stroke-width=\"0.8\"/>\n"
        for (index, row) in all.enumerated() {
            let y = top + 5 + rowHeight * (Double(index) + 0.5)
            if index < regions.count {
                out += "<circle cx=\"\(number(left + 13))\" cy=\"\(number(y))\" r=\"5\""
                out += " fill=\"\(escape(regions[index].fill))\" stroke=\"\(ink)\" stroke-width=\"1\"/>\n"
            } else if row == moveNote && index == all.count - 1 {
                out += "<path d=\"M\(number(left + 5)) \(number(y))H\(number(left + 15))\" stroke=\"\(moveStroke)\""
                out += " stroke-width=\"2.5\"/>\n"
                out += "<polygon points=\"\(number(left + 21)),\(number(y)) \(number(left + 14)),\(number(y - 4))"
                out += " \(number(left + 14)),\(number(y + 4))\" fill=\"\(moveStroke)\"/>\n"
            } else {
                out += "<circle cx=\"\(number(left + 13))\" cy=\"\(number(y))\" r=\"3\" fill=\"#555555\""
                out += " fill-opacity=\"0.45\" stroke=\"#555555\" stroke-width=\"0.6\"/>\n"
            }
            out += "<text x=\"\(number(left + 24))\" y=\"\(number(y + 4))\" font-family=\"\(font)\""
            out += " font-size=\"11\" fill=\"\(ink)\" xml:space=\"preserve\">\(escape(row))</text>\n"
        }
        return out + "</g>\n"
    }

    /// Text with a white halo (drawn twice: SVG 1.1 has no `paint-order`).
    private static func text(
        _ content: String, x: Double, y: Double, size: Int, anchor: String, bold: Bool
    ) -> String {
        let attributes =
            "x=\"\(number(x))\" y=\"\(number(y))\" font-family=\"\(font)\" font-size=\"\(size)\""
            + " text-anchor=\"\(anchor)\"" + (bold ? " font-weight=\"bold\"" : "")
        let escaped = escape(content)
        return "<text \(attributes) fill=\"none\" stroke=\"#ffffff\" stroke-width=\"3\" stroke-linejoin=\"round\""
            + " stroke-opacity=\"0.85\">\(escaped)</text>\n"
            + "<text \(attributes) fill=\"\(ink)\">\(escaped)</text>\n"
    }

    private struct Dot {
        var x: Double
        var y: Double
        var regionIndex: Int
        var count: Int
        var order: Int
    }

    /// Client marks of the same region on the same half pixel become one dot; sorted by count
    /// (largest first), then by first appearance.
    private static func mergeClients(_ clients: [ClientMark], width: Int, height: Int) -> [Dot] {
        struct Key: Hashable {
            var x: Int
            var y: Int
            var regionIndex: Int
        }
        var dots: [Dot] = []
        var positions: [Key: Int] = [:]
        for client in clients where client.coordinate.isValid && client.count > 0 {
            let (x, y) = project(client.coordinate, width: width, height: height)
            let key = Key(x: Int((x * 2).rounded()), y: Int((y * 2).rounded()), regionIndex: client.regionIndex)
            if let index = positions[key] {
                dots[index].count += client.count
            } else {
                positions[key] = dots.count
                dots.append(
                    Dot(x: x, y: y, regionIndex: client.regionIndex, count: client.count, order: dots.count))
            }
        }
        return dots.sorted { ($0.count, -$0.order) > ($1.count, -$1.order) }
    }

    /// A scale factor to six decimals, without trailing zeros.
    private static func decimal(_ value: Double) -> String {
        guard value.isFinite else { return "1" }
        var text = String(format: "%.6f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Pixels to 0.1, without a trailing `.0`.
    private static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = Int((min(max(value, -1e12), 1e12) * 10).rounded())
        let magnitude = abs(tenths)
        return (tenths < 0 ? "-" : "") + String(magnitude / 10) + (magnitude % 10 == 0 ? "" : ".\(magnitude % 10)")
    }

    /// `text` for XML character data and attribute values: `&<>"'` as entities, and characters
    /// XML 1.0 does not allow (most control characters) replaced by U+FFFD.
    public static func escape(_ text: String) -> String {
        var output = ""
        output.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&apos;"
            case "\t", "\n", "\r": output.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xfffe || scalar.value == 0xffff:
                output += "\u{fffd}"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
