/// A `match.path.regex`, compiled when the configuration is read.
///
/// `Regex` is not `Sendable` because its output type may not be; this one's output is
/// `AnyRegexOutput` and it is never changed after it is compiled. The standard library lowers a
/// regex's program once, lazily, with an atomic compare-and-swap, so matching from several
/// threads at once is safe; ``init(_:)`` matches once so that the lowering is done at load.
public struct RoutePattern: @unchecked Sendable, Hashable {
    /// The pattern as written in the file.
    public let source: String
    let regex: Regex<AnyRegexOutput>
    /// The bytes every path the pattern matches starts with (its leading literal characters):
    /// a path without them is refused before any string is made or the regex runs.
    public let literalPrefix: [UInt8]

    /// Compiles `source`; throws the compiler's complaint.
    public init(_ source: String) throws {
        self.source = source
        regex = try Regex(source)
        literalPrefix = Self.literalPrefix(of: source)
        _ = matches("/")
    }

    /// Whether the pattern matches all of `path` (not just a part of it).
    public func matches(_ path: String) -> Bool {
        (try? regex.wholeMatch(in: path)) != nil
    }

    /// Whether the path (`span` of `bytes`) can match: it starts with ``literalPrefix``.
    @inline(__always)
    func mayMatch(_ bytes: UnsafeRawBufferPointer, _ span: RequestHead.Span) -> Bool {
        guard span.count >= literalPrefix.count else { return false }
        for offset in 0..<literalPrefix.count where bytes[span.start + offset] != literalPrefix[offset] {
            return false
        }
        return true
    }

    /// The leading characters of `source` that can only match themselves: letters, digits and
    /// `/ - _ , : = ~ ! @ % &` (a `\`-escaped `.`, `/` or `-` too), up to the first other
    /// character, less the last one when a quantifier follows it. Empty when the pattern has a
    /// top-level `|` (any branch may come first) or starts with anything else (a group, a class,
    /// an option such as `(?i)`), so the filter never refuses a path the regex would take.
    static func literalPrefix(of source: String) -> [UInt8] {
        let bytes = Array(source.utf8)
        var depth = 0
        var inClass = false
        var escaped = false
        for byte in bytes {
            if escaped {
                escaped = false
                continue
            }
            switch byte {
            case UInt8(ascii: "\\"): escaped = true
            case UInt8(ascii: "["): inClass = true
            case UInt8(ascii: "]"): inClass = false
            case UInt8(ascii: "(") where !inClass: depth += 1
            case UInt8(ascii: ")") where !inClass: depth -= 1
            case UInt8(ascii: "|") where !inClass && depth == 0: return []
            default: break
            }
        }
        var prefix: [UInt8] = []
        var index = bytes.first == UInt8(ascii: "^") ? 1 : 0
        while index < bytes.count {
            var byte = bytes[index]
            var width = 1
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count,
                    [UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "-")].contains(bytes[index + 1])
                else { break }
                byte = bytes[index + 1]
                width = 2
            } else if !isPlain(byte) {
                break
            }
            let next = index + width < bytes.count ? bytes[index + width] : 0
            if next == UInt8(ascii: "*") || next == UInt8(ascii: "?") || next == UInt8(ascii: "{")
                || next == UInt8(ascii: "+")
            {
                // `a*`, `a?`, `a{0,1}` may leave the character out; `a+` keeps one, then repeats.
                if next == UInt8(ascii: "+") { prefix.append(byte) }
                break
            }
            prefix.append(byte)
            index += width
        }
        return prefix
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || "/-_,:=~!@%&".utf8.contains(byte)
    }

    public static func == (lhs: RoutePattern, rhs: RoutePattern) -> Bool { lhs.source == rhs.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
}
