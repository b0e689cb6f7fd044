/// A `Range` request (RFC 9110 §14) against a stored representation of known length, as the cache
/// answers it: one byte range (206), none satisfiable (416), or the whole representation (200) for
/// everything else — no `Range`, another unit, invalid syntax, several ranges (a server MAY ignore
/// `Range`, §14.2), or an `If-Range` that does not hold (§13.1.5).
public enum ByteRange: Sendable, Hashable {
    /// Serve the whole representation: `200`.
    case none
    /// Serve bytes `start...end` (inclusive, within the representation): `206`.
    case satisfiable(start: Int, end: Int)
    /// No byte of the representation is selected: `416` with `Content-Range: bytes */LENGTH`.
    case unsatisfiable

    /// The range a `Range` field value selects in a representation of `length` bytes (§14.1.2):
    /// `bytes=FIRST-LAST` (LAST clamped to the end, FIRST beyond the end unsatisfiable), `bytes=FIRST-`,
    /// `bytes=-SUFFIX` (the last SUFFIX bytes, the whole when shorter; `-0` unsatisfiable). The unit is
    /// case-insensitive; `LAST` below `FIRST` is invalid syntax (§14.1.1). For an empty representation
    /// a suffix range is served as the whole (empty) representation.
    public static func parse(_ value: String?, length: Int) -> ByteRange {
        guard let value, length >= 0 else { return .none }
        let text = value.utf8
        guard let equals = text.firstIndex(of: UInt8(ascii: "=")) else { return .none }
        let unit = trimmed(text[..<equals])
        guard unit.count == 5, String(decoding: unit, as: UTF8.self).lowercased() == "bytes" else { return .none }
        let members = text[text.index(after: equals)...].split(
            separator: UInt8(ascii: ","), omittingEmptySubsequences: false
        )
        .map(trimmed).filter { !$0.isEmpty }
        guard members.count == 1, let dash = members[0].firstIndex(of: UInt8(ascii: "-")) else { return .none }
        let first = members[0][..<dash]
        let last = members[0][members[0].index(after: dash)...]
        if first.isEmpty {
            guard let suffix = number(last) else { return .none }
            if suffix == 0 { return .unsatisfiable }
            if length == 0 { return .none }
            return .satisfiable(start: max(0, length - suffix), end: length - 1)
        }
        guard let start = number(first) else { return .none }
        var end = Int.max
        if !last.isEmpty {
            guard let parsed = number(last), parsed >= start else { return .none }
            end = parsed
        }
        guard start < length else { return .unsatisfiable }
        return .satisfiable(start: start, end: min(end, length - 1))
    }

    /// The range for a request with `range` (its `Range` value) and `ifRange` (its `If-Range` value):
    /// the whole representation when `If-Range` is present and does not hold (§13.1.5).
    public static func parse(
        _ range: String?, ifRange: String?, length: Int, etag: String?, lastModified: Int?, date: Int?
    ) -> ByteRange {
        if let ifRange, !ifRangeHolds(ifRange, etag: etag, lastModified: lastModified, date: date) {
            return .none
        }
        return parse(range, length: length)
    }

    /// `If-Range` (RFC 9110 §13.1.5) against the stored representation's `ETag` value and
    /// `Last-Modified` and `Date` (seconds): an entity tag holds when it matches `etag` by the strong
    /// comparison (§8.8.3.2; a weak tag never does); an HTTP-date holds when it equals `lastModified`
    /// and that is a strong validator — for a cache, when the stored `Date` is at least one second
    /// after it (§8.8.2.2). Anything else (no validator stored, another date, invalid) does not hold.
    public static func ifRangeHolds(_ value: String, etag: String?, lastModified: Int?, date: Int?) -> Bool {
        if let tag = EntityTag(value) {
            guard let etag, let stored = EntityTag(etag) else { return false }
            return tag.strongMatches(stored)
        }
        guard let given = HTTPDate.parse(value), let lastModified, let date else { return false }
        return given == lastModified && date >= lastModified + 1
    }

    /// The `Content-Range` value of a 206: `bytes START-END/LENGTH`.
    public static func contentRange(start: Int, end: Int, length: Int) -> String {
        "bytes \(start)-\(end)/\(length)"
    }

    /// The `Content-Range` value of a 416: `bytes */LENGTH` (§14.4).
    public static func unsatisfiedContentRange(length: Int) -> String {
        "bytes */\(length)"
    }

    /// This range's `Content-Range` for a representation of `length` bytes; nil for ``none``.
    public func contentRange(length: Int) -> String? {
        switch self {
        case .none: return nil
        case .satisfiable(let start, let end): return Self.contentRange(start: start, end: end, length: length)
        case .unsatisfiable: return Self.unsatisfiedContentRange(length: length)
        }
    }

    /// Decimal digits only; a value too large for `Int` saturates (it is beyond any length).
    private static func number(_ digits: Substring.UTF8View.SubSequence) -> Int? {
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var value = 0
        for digit in digits {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int(digit - 0x30))
            if overflow1 || overflow2 { return Int.max }
            value = sum
        }
        return value
    }

    private static func trimmed(_ bytes: Substring.UTF8View.SubSequence) -> Substring.UTF8View.SubSequence {
        var bytes = bytes
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes = bytes.dropLast() }
        return bytes
    }
}
