import Foundation
import GeoIP
import Testing

@testable import GeoFrontCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite struct WorldMapTests {
    /// Every element of an SVG document with its attributes, and the text of each `text`.
    final class Elements: NSObject, XMLParserDelegate {
        var elements: [(name: String, attributes: [String: String])] = []
        var texts: [String] = []
        var current = ""

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            elements.append((elementName, attributes))
            current = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
        ) {
            if elementName == "text" { texts.append(current) }
            current = ""
        }

        func all(_ name: String) -> [[String: String]] {
            elements.filter { $0.name == name }.map(\.attributes)
        }
    }

    static func parse(_ svg: String) -> Elements {
        let parser = XMLParser(data: Data(svg.utf8))
        let elements = Elements()
        parser.delegate = elements
        #expect(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
        return elements
    }

    /// Nonzero winding number of `coordinate` over every land ring.
    static func isLand(_ coordinate: Coordinate) -> Bool {
        let x = coordinate.longitude * 10
        let y = coordinate.latitude * 10
        var winding = 0
        for ring in WorldLand.rings {
            for (index, a) in ring.enumerated() {
                let b = ring[(index + 1) % ring.count]
                let (ax, ay, bx, by) = (Double(a.x), Double(a.y), Double(b.x), Double(b.y))
                let side = (bx - ax) * (y - ay) - (x - ax) * (by - ay)
                if ay <= y {
                    if by > y && side > 0 { winding += 1 }
                } else if by <= y && side < 0 {
                    winding -= 1
                }
            }
        }
        return winding != 0
    }

    @Test func landDecodesCompletely() {
        let rings = WorldLand.rings
        #expect(rings.count == WorldLand.encodedRings)
        #expect(rings.reduce(0) { $0 + $1.count } == WorldLand.encodedPoints)
        #expect(rings.allSatisfy { $0.count >= 3 })
        // The continents and the big islands, not every rock.
        #expect(rings.count > 80 && rings.count < 300)
        let xs = rings.joined().map(\.x)
        let ys = rings.joined().map(\.y)
        #expect(xs.min() == -1800 && xs.max() == 1800)
        #expect(ys.min()! >= -900 && ys.max()! < 840)
    }

    @Test func landIsWhereTheContinentsAre() {
        let land: [(Double, Double)] = [
            (50.1, 8.7), (39.7, -105.0), (-15.8, -47.9), (-4.3, 15.3), (28.6, 77.2), (-23.7, 133.9),
            (39.9, 116.4), (64.2, -51.7), (-80, 0), (55.8, 37.6), (36.2, 138.3), (-43.5, 171),
        ]
        let sea: [(Double, Double)] = [
            (30, -40), (0, -150), (-30, 80), (35, 18), (42, 50.5), (25, -90), (55, -30), (-40, 150),
            (10, 90), (75, 0),
        ]
        for (latitude, longitude) in land {
            #expect(Self.isLand(Coordinate(latitude: latitude, longitude: longitude)), "\(latitude), \(longitude)")
        }
        for (latitude, longitude) in sea {
            #expect(!Self.isLand(Coordinate(latitude: latitude, longitude: longitude)), "\(latitude), \(longitude)")
        }
    }

    @Test func pathDataIsCompactAndHasOneSubpathPerRing() {
        let data = WorldLand.pathData
        #expect(data.count(where: { $0 == "M" }) == WorldLand.rings.count)
        #expect(data.count(where: { $0 == "z" }) == WorldLand.rings.count)
        #expect(data.allSatisfy { "Mlz- 0123456789".contains($0) })
        #expect(data.utf8.count < 25_000)
        // The first ring starts at its first point on the 3600 × 1800 grid.
        let first = WorldLand.rings[0][0]
        #expect(data.hasPrefix("M\(Int(first.x) + 1800) \(900 - Int(first.y))l"))
    }

    @Test func mapDrawsTheLandScaledToItsSize() {
        let svg = WorldMap.svg(regions: [], title: "land", width: 2000, height: 1000)
        let elements = Self.parse(svg)
        let land = elements.all("path").filter { $0["d"] == WorldLand.pathData }
        #expect(land.count == 1)
        #expect(land.first?["transform"] == "scale(0.555556 0.555556)")
        #expect(land.first?["fill"] != "none")

        let none = WorldMap.svg(regions: [], land: false, title: "no land")
        #expect(!none.contains(WorldLand.pathData))
        #expect(Self.parse(none).all("path").count == 1)  // the graticule
    }

    @Test func regionsAreAtTheirProjectedCoordinates() {
        let regions = [
            WorldMap.RegionMark(
                name: "sydney", coordinate: Coordinate(latitude: -33.87, longitude: 151.21), fill: "#111111",
                radius: 7),
            WorldMap.RegionMark(
                name: "denver", coordinate: Coordinate(latitude: 39.74, longitude: -104.99), fill: "#222222"),
        ]
        let svg = WorldMap.svg(regions: regions, title: "t", width: 2000, height: 1000)
        let circles = Self.parse(svg).all("circle")
        for region in regions {
            let (x, y) = WorldMap.project(region.coordinate, width: 2000, height: 1000)
            let dot = circles.first { $0["fill"] == region.fill && $0["r"] != "5" }
            #expect(abs((Double(dot?["cx"] ?? "") ?? -1) - x) <= 0.05, "\(region.name)")
            #expect(abs((Double(dot?["cy"] ?? "") ?? -1) - y) <= 0.05, "\(region.name)")
        }
        // Sydney: x = 331.21 / 360 × 2000, y = 123.87 / 180 × 1000.
        #expect(circles.contains { $0["cx"] == "1840.1" && $0["cy"] == "688.2" && $0["r"] == "7" })
    }

    @Test func movesAreArrowsThickerForMoreClients() {
        let frankfurt = Coordinate(latitude: 50.11, longitude: 8.68)
        let virginia = Coordinate(latitude: 38.9, longitude: -77.4)
        let mumbai = Coordinate(latitude: 19.08, longitude: 72.88)
        let regions = [
            WorldMap.RegionMark(name: "eu", coordinate: frankfurt, fill: "#111111", radius: 10),
            WorldMap.RegionMark(name: "us", coordinate: virginia, fill: "#222222"),
        ]
        let moves = [
            WorldMap.Move(from: frankfurt, to: virginia, count: 25),
            WorldMap.Move(from: mumbai, to: frankfurt, count: 100, stroke: "#00aa00"),
            WorldMap.Move(from: mumbai, to: virginia, count: 0),  // nothing moves: not drawn
            WorldMap.Move(from: Coordinate(latitude: 100, longitude: 0), to: virginia, count: 5),  // invalid
        ]
        let svg = WorldMap.svg(regions: regions, moves: moves, title: "preview")
        let elements = Self.parse(svg)
        let curves = elements.all("path").filter { $0["d"]?.contains("Q") == true }
        #expect(curves.count == 2)
        // The largest first (drawn underneath), 1.5 + 6.5 px thick; the other 1.5 + 6.5 × √¼.
        #expect(curves.map { $0["stroke"] } == ["#00aa00", WorldMap.moveStroke])
        #expect(curves.map { $0["stroke-width"] } == ["8", "4.8"])
        #expect(elements.texts.contains("100"))
        #expect(elements.texts.contains("25"))
        #expect(elements.texts.contains("moves (thicker: more clients)"))

        // Arrowheads (and one in the legend); the one into Frankfurt ends 10 + 3 px from the dot's centre.
        let heads = elements.all("polygon")
        #expect(heads.count == 3)
        let (x, y) = WorldMap.project(frankfurt, width: 1000, height: 500)
        let tip = (heads.first { $0["fill"] == "#00aa00" }?["points"] ?? "").split(separator: " ")[0]
            .split(separator: ",").compactMap { Double($0) }
        #expect(tip.count == 2)
        if tip.count == 2 {
            let distance = ((tip[0] - x) * (tip[0] - x) + (tip[1] - y) * (tip[1] - y)).squareRoot()
            #expect(abs(distance - 13) < 0.2)
        }

        // Without moves: no arrows, no legend row.
        let plain = WorldMap.svg(regions: regions, title: "plain")
        #expect(!plain.contains("<polygon"))
        #expect(!plain.contains("moves ("))
    }
}
