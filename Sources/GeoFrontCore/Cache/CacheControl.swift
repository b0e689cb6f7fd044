/// The directives of one message's `Cache-Control` field (RFC 9111 §5.2), request or response,
/// plus the RFC 5861 extensions `stale-while-revalidate` and `stale-if-error`. Sans I/O: built
/// from field values, read by ``CacheStorability`` and ``Freshness``.
///
/// Parsing rules and the choices made where the RFC leaves room:
/// - Directive names are case-insensitive tokens (§5.2); arguments may be a token or a
///   quoted-string, and the quoted form of a delta-seconds (`max-age="5"`) is accepted (§5.2).
/// - Several field lines (or repeated values) combine as one comma-separated list (RFC 9110 §5.3).
/// - Duplicates (§4.2.1): the first occurrence of a valued directive is used, later ones are ignored.
/// - Invalid delta-seconds (§1.2.2, §4.2.1: "consider responses that have invalid freshness
///   information ... to be stale"): an invalid or missing `max-age` or `s-maxage` becomes `0`,
///   so a response is stale and a request asks for revalidation (the most restrictive reading).
///   An invalid `min-fresh`, `max-stale=<n>`, `stale-while-revalidate` or `stale-if-error` is
///   ignored, which again is the most restrictive reading (no stale allowed, nothing required
///   beyond freshness). ``hasInvalidArgument`` records that something was dropped.
/// - Values beyond 2^31 saturate to 2147483648 (§1.2.2).
/// - `no-cache="a, b"` and `private="a"` keep their field names (lower-cased); an empty or invalid
///   list counts as the unqualified directive. Arguments on directives that take none are ignored.
/// - Unknown directives (extensions) are ignored (§5.2.3).
public struct CacheControl: Sendable, Equatable {
    /// `max-stale` (§5.2.1.2): with no value, any staleness is accepted.
    public enum MaxStale: Sendable, Equatable {
        case any
        case seconds(Int)
    }

    public var maxAge: Int?
    public var sMaxAge: Int?
    /// Unqualified `no-cache`, or a qualified one (its names are in ``noCacheFields``).
    public var noCache = false
    public var noCacheFields: [String] = []
    public var noStore = false
    /// Unqualified `private`. A qualified one only lists ``privateFields``.
    public var isPrivate = false
    public var privateFields: [String] = []
    public var isPublic = false
    public var mustRevalidate = false
    public var proxyRevalidate = false
    public var noTransform = false
    public var mustUnderstand = false
    public var maxStale: MaxStale?
    public var minFresh: Int?
    public var onlyIfCached = false
    public var staleWhileRevalidate: Int?
    public var staleIfError: Int?
    /// A directive's argument was invalid and replaced or dropped as described above.
    public var hasInvalidArgument = false

    /// The largest delta-seconds kept (§1.2.2).
    public static let maxDeltaSeconds = 2_147_483_648

    public init() {}

    /// Parses and combines field values, in order (one per `Cache-Control` field line).
    public init(fieldValues: [[UInt8]]) {
        for value in fieldValues {
            value.withUnsafeBytes { parse($0) }
        }
    }

    /// Parses and combines field values given as strings.
    public init(_ fieldValues: String...) {
        for value in fieldValues {
            var copy = value
            copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
        }
    }

    /// `no-cache` in either form: a stored response must be revalidated before it is reused.
    /// A qualified `no-cache` is treated as unqualified (§5.2.2.4 allows this; reusing the rest
    /// of the response without the listed fields is not implemented).
    public var requiresRevalidation: Bool { noCache || !noCacheFields.isEmpty }

    /// Adds the directives of one field value.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) {
        let end = bytes.count
        var index = 0
        while index < end {
            while index < end && (Self.isWhitespace(bytes[index]) || bytes[index] == Self.comma) { index += 1 }
            guard index < end else { return }
            let nameStart = index
            while index < end && RequestHeadParser.isTokenByte(bytes[index]) { index += 1 }
            let nameEnd = index
            guard nameEnd > nameStart else {
                // Not a directive: skip this list member.
                hasInvalidArgument = true
                index = Self.skipMember(bytes, from: index)
                continue
            }
            while index < end && Self.isWhitespace(bytes[index]) { index += 1 }
            var argument: Argument?
            if index < end && bytes[index] == UInt8(ascii: "=") {
                index += 1
                while index < end && Self.isWhitespace(bytes[index]) { index += 1 }
                argument = Self.readArgument(bytes, at: &index)
            }
            while index < end && Self.isWhitespace(bytes[index]) { index += 1 }
            var malformed = false
            if index < end && bytes[index] != Self.comma {
                malformed = true
                index = Self.skipMember(bytes, from: index)
            }
            if malformed || argument?.malformed == true {
                argument = Argument(start: 0, end: 0, escaped: false, malformed: true)
            }
            apply(UnsafeRawBufferPointer(rebasing: bytes[nameStart..<nameEnd]), argument, bytes)
        }
    }

    // MARK: - Directives

    private mutating func apply(_ name: UnsafeRawBufferPointer, _ argument: Argument?, _ bytes: UnsafeRawBufferPointer)
    {
        switch name.count {
        case 6 where RequestHeadParser.equalsLowercased(name, "public"):
            isPublic = true
        case 7 where RequestHeadParser.equalsLowercased(name, "max-age"):
            if maxAge == nil { maxAge = delta(argument, bytes) ?? 0 }
        case 7 where RequestHeadParser.equalsLowercased(name, "private"):
            if let names = fieldNames(argument, bytes), !names.isEmpty {
                privateFields.append(contentsOf: names)
            } else {
                isPrivate = true
            }
        case 8 where RequestHeadParser.equalsLowercased(name, "no-cache"):
            if let names = fieldNames(argument, bytes), !names.isEmpty {
                noCacheFields.append(contentsOf: names)
            } else {
                noCache = true
            }
        case 8 where RequestHeadParser.equalsLowercased(name, "no-store"):
            noStore = true
        case 8 where RequestHeadParser.equalsLowercased(name, "s-maxage"):
            if sMaxAge == nil { sMaxAge = delta(argument, bytes) ?? 0 }
        case 9 where RequestHeadParser.equalsLowercased(name, "max-stale"):
            if maxStale == nil {
                if argument == nil {
                    maxStale = .any
                } else if let seconds = delta(argument, bytes) {
                    maxStale = .seconds(seconds)
                }
            }
        case 9 where RequestHeadParser.equalsLowercased(name, "min-fresh"):
            if minFresh == nil { minFresh = delta(argument, bytes) }
        case 12 where RequestHeadParser.equalsLowercased(name, "no-transform"):
            noTransform = true
        case 14 where RequestHeadParser.equalsLowercased(name, "only-if-cached"):
            onlyIfCached = true
        case 14 where RequestHeadParser.equalsLowercased(name, "stale-if-error"):
            if staleIfError == nil { staleIfError = delta(argument, bytes) }
        case 15 where RequestHeadParser.equalsLowercased(name, "must-revalidate"):
            mustRevalidate = true
        case 15 where RequestHeadParser.equalsLowercased(name, "must-understand"):
            mustUnderstand = true
        case 16 where RequestHeadParser.equalsLowercased(name, "proxy-revalidate"):
            proxyRevalidate = true
        case 22 where RequestHeadParser.equalsLowercased(name, "stale-while-revalidate"):
            if staleWhileRevalidate == nil { staleWhileRevalidate = delta(argument, bytes) }
        default:
            break  // extension directives are ignored (§5.2.3)
        }
    }

    /// delta-seconds (§1.2.2), or nil (and ``hasInvalidArgument`` set) when missing or invalid.
    private mutating func delta(_ argument: Argument?, _ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let argument, !argument.malformed, argument.end > argument.start else {
            hasInvalidArgument = true
            return nil
        }
        var value = 0
        var index = argument.start
        while index < argument.end {
            var byte = bytes[index]
            if argument.escaped && byte == UInt8(ascii: "\\") && index + 1 < argument.end {
                index += 1
                byte = bytes[index]
            }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else {
                hasInvalidArgument = true
                return nil
            }
            value = min(value * 10 + Int(byte - UInt8(ascii: "0")), Self.maxDeltaSeconds)
            index += 1
        }
        return value
    }

    /// The lower-cased field names of a qualified `no-cache` / `private`; nil without an argument.
    private mutating func fieldNames(_ argument: Argument?, _ bytes: UnsafeRawBufferPointer) -> [String]? {
        guard let argument else { return nil }
        guard !argument.malformed else {
            hasInvalidArgument = true
            return nil
        }
        var names: [String] = []
        var current: [UInt8] = []
        var index = argument.start
        while index <= argument.end {
            var byte = index < argument.end ? bytes[index] : Self.comma
            if argument.escaped && byte == UInt8(ascii: "\\") && index + 1 < argument.end {
                index += 1
                byte = bytes[index]
            }
            if byte == Self.comma || Self.isWhitespace(byte) {
                if !current.isEmpty { names.append(String(decoding: current, as: UTF8.self)) }
                current.removeAll(keepingCapacity: true)
            } else if RequestHeadParser.isTokenByte(byte) {
                current.append(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte)
            } else {
                hasInvalidArgument = true
                return nil
            }
            index += 1
        }
        return names
    }

    // MARK: - Lexing

    private struct Argument: Equatable {
        var start: Int
        var end: Int
        /// A quoted-string holding quoted-pairs (`\x`).
        var escaped: Bool
        var malformed: Bool
    }

    private static let comma = UInt8(ascii: ",")
    private static let quote = UInt8(ascii: "\"")

    @inline(__always)
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == RequestHeadParser.sp || byte == RequestHeadParser.tab
    }

    /// A token or quoted-string argument starting at `index`; `index` moves past it.
    private static func readArgument(_ bytes: UnsafeRawBufferPointer, at index: inout Int) -> Argument {
        let end = bytes.count
        if index < end && bytes[index] == quote {
            index += 1
            let start = index
            var escaped = false
            while index < end && bytes[index] != quote {
                if bytes[index] == UInt8(ascii: "\\") {
                    escaped = true
                    index += 1
                }
                index += 1
            }
            guard index < end else { return Argument(start: start, end: end, escaped: escaped, malformed: true) }
            let argument = Argument(start: start, end: index, escaped: escaped, malformed: false)
            index += 1
            return argument
        }
        let start = index
        while index < end && RequestHeadParser.isTokenByte(bytes[index]) { index += 1 }
        return Argument(start: start, end: index, escaped: false, malformed: false)
    }

    /// The index of the comma ending the list member that contains `from` (or the end), quotes respected.
    private static func skipMember(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int {
        var index = from
        var quoted = false
        while index < bytes.count {
            let byte = bytes[index]
            if quoted && byte == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if byte == quote { quoted.toggle() }
            if byte == comma && !quoted { return index }
            index += 1
        }
        return index
    }
}
