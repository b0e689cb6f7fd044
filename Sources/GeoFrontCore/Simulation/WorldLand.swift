import Foundation

/// The land of the world maps: Natural Earth's 1:110m countries dissolved into coastlines,
/// simplified and quantised to 0.1° by `scripts/build-worldmap`, which writes the encoded rings
/// into `WorldLandData.swift` (see there for the source and the numbers). Decoded once, on first
/// use.
enum WorldLand {
    /// A point in tenths of a degree: `x` the longitude (−1800...1800), `y` the latitude
    /// (−900...900).
    struct Point: Sendable, Hashable {
        var x: Int16
        var y: Int16
    }

    /// The closed rings of land (the closing point is not repeated). Outer coasts and lakes run
    /// in opposite directions, so they fill correctly with the nonzero rule.
    static let rings: [[Point]] = decode(encoded)

    /// The land as SVG path data on a 3600 × 1800 grid (x = longitude × 10 + 1800,
    /// y = 900 − latitude × 10): each ring an absolute move, relative lines, and a close.
    /// Independent of the map's size: ``WorldMap`` scales it with a transform.
    static let pathData: String = {
        var out = ""
        out.reserveCapacity(rings.reduce(0) { $0 + 6 * $1.count })
        for ring in rings {
            guard let first = ring.first else { continue }
            out += "M\(Int(first.x) + 1800) \(900 - Int(first.y))l"
            var previous = first
            var separate = false
            for point in ring.dropFirst() {
                let dx = Int(point.x) - Int(previous.x)
                let dy = Int(previous.y) - Int(point.y)
                // A minus sign separates numbers by itself.
                out += (separate && dx >= 0 ? " " : "") + String(dx) + (dy >= 0 ? " " : "") + String(dy)
                separate = true
                previous = point
            }
            out += "z"
        }
        return out
    }()

    /// Rings from `scripts/build-worldmap`'s encoding: per ring a point count, then the first
    /// point and the differences to the previous point, every number a zigzag LEB128 varint.
    /// Stops at the first malformed ring (the tests check the whole table decodes).
    static func decode(_ base64: String) -> [[Point]] {
        guard let data = Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else { return [] }
        let bytes = [UInt8](data)
        var index = 0
        func varint() -> Int? {
            var value = 0
            var shift = 0
            while index < bytes.count, shift < 63 {
                let byte = bytes[index]
                index += 1
                value |= Int(byte & 0x7f) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }
        func signed() -> Int? {
            varint().map { ($0 >> 1) ^ -($0 & 1) }
        }
        var rings: [[Point]] = []
        ringLoop: while index < bytes.count {
            guard let count = varint(), count > 0, count <= bytes.count else { break }
            var ring: [Point] = []
            ring.reserveCapacity(count)
            var x = 0
            var y = 0
            for _ in 0..<count {
                guard let dx = signed(), let dy = signed() else { break ringLoop }
                x += dx
                y += dy
                guard (-1800...1800).contains(x), (-900...900).contains(y) else { break ringLoop }
                ring.append(Point(x: Int16(x), y: Int16(y)))
            }
            rings.append(ring)
        }
        return rings
    }
}
