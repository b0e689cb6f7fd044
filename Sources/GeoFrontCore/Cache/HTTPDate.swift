import GeoIP

/// HTTP-date (RFC 9110 §5.6.7) as seconds since the Unix epoch, without Foundation: parses the
/// three formats a recipient must accept and formats the preferred one.
///
/// - IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
/// - obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT` (two-digit year: more than 50 years in
///   the future of `now` means the previous century; without `now`, 70–99 are 19xx, 00–69 20xx)
/// - obsolete asctime: `Sun Nov  6 08:49:37 1994`
///
/// Names (weekday, month, `GMT`) are matched in any case: the grammar spells them one way, and
/// reading `THU` or `gmt` as meant loses nothing. The weekday must be a valid name but is not
/// checked against the date. Seconds may be 60 (a leap second). Surrounding
/// whitespace is ignored; anything else makes the date invalid (nil), which for `Expires` means
/// "already expired" (RFC 9111 §5.3) — see ``Freshness``.
public enum HTTPDate {
    /// Seconds since 1970-01-01T00:00:00Z, or nil when `bytes` is no valid HTTP-date.
    public static func parse(_ bytes: UnsafeRawBufferPointer, now: Int? = nil) -> Int? {
        var start = 0
        var end = bytes.count
        while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
        while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
        let text = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        switch text.count {
        case 29: return imfFixdate(text)
        case 24: return asctime(text)
        case 30...33: return rfc850(text, now: now)
        default: return nil
        }
    }

    public static func parse(_ bytes: [UInt8], now: Int? = nil) -> Int? {
        bytes.withUnsafeBytes { parse($0, now: now) }
    }

    public static func parse(_ string: String, now: Int? = nil) -> Int? {
        parse(Array(string.utf8), now: now)
    }

    /// IMF-fixdate bytes (always 29) for `seconds` since the epoch.
    public static func format(_ seconds: Int) -> [UInt8] {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = CivilDate.from(days: days)
        let weekday = ((days % 7) + 7 + 4) % 7  // 1970-01-01 was a Thursday
        var out: [UInt8] = []
        out.reserveCapacity(29)
        out.append(contentsOf: shortDays[weekday].utf8)
        out.append(contentsOf: ", ".utf8)
        appendDigits(&out, day, 2)
        out.append(0x20)
        out.append(contentsOf: months[month - 1].utf8)
        out.append(0x20)
        appendDigits(&out, year, 4)
        out.append(0x20)
        appendDigits(&out, secondOfDay / 3600, 2)
        out.append(UInt8(ascii: ":"))
        appendDigits(&out, secondOfDay / 60 % 60, 2)
        out.append(UInt8(ascii: ":"))
        appendDigits(&out, secondOfDay % 60, 2)
        out.append(contentsOf: " GMT".utf8)
        return out
    }

    public static func formatString(_ seconds: Int) -> String {
        String(decoding: format(seconds), as: UTF8.self)
    }

    // MARK: - Formats

    private static let shortDays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let longDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    /// The same names run together, for parsing (a static string needs no lazy initialisation).
    private static let shortDayNames: StaticString = "SunMonTueWedThuFriSat"
    private static let monthNames: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"

    /// `Sun, 06 Nov 1994 08:49:37 GMT`
    private static func imfFixdate(_ t: UnsafeRawBufferPointer) -> Int? {
        guard matchName(t, 0, shortDayNames) != nil, t[3] == UInt8(ascii: ","), t[4] == 0x20,
            let day = digits(t, 5, 2), t[7] == 0x20,
            let month = matchName(t, 8, monthNames), t[11] == 0x20,
            let year = digits(t, 12, 4), t[16] == 0x20,
            let time = timeOfDay(t, 17), t[25] == 0x20, literal(t, 26, "GMT")
        else { return nil }
        return seconds(year: year, month: month + 1, day: day, time: time)
    }

    /// `Sunday, 06-Nov-94 08:49:37 GMT`
    private static func rfc850(_ t: UnsafeRawBufferPointer, now: Int?) -> Int? {
        var weekdayLength = 0
        for name in longDays where t.count == name.utf8.count + 24 && literal(t, 0, name) {
            weekdayLength = name.utf8.count
        }
        let i = weekdayLength
        guard i > 0, t[i] == UInt8(ascii: ","), t[i + 1] == 0x20,
            let day = digits(t, i + 2, 2), t[i + 4] == UInt8(ascii: "-"),
            let month = matchName(t, i + 5, monthNames), t[i + 8] == UInt8(ascii: "-"),
            let shortYear = digits(t, i + 9, 2), t[i + 11] == 0x20,
            let time = timeOfDay(t, i + 12), t[i + 20] == 0x20, literal(t, i + 21, "GMT")
        else { return nil }
        var year: Int
        if let now {
            // RFC 9110 §5.6.7: more than 50 years in the future → the most recent past year with those digits.
            let currentYear = CivilDate.from(days: now >= 0 ? now / 86_400 : (now - 86_399) / 86_400).year
            year = currentYear - currentYear % 100 + shortYear
            if year > currentYear + 50 { year -= 100 }
            if year <= currentYear - 50 { year += 100 }
        } else {
            year = shortYear < 70 ? 2000 + shortYear : 1900 + shortYear
        }
        return seconds(year: year, month: month + 1, day: day, time: time)
    }

    /// `Sun Nov  6 08:49:37 1994`
    private static func asctime(_ t: UnsafeRawBufferPointer) -> Int? {
        guard matchName(t, 0, shortDayNames) != nil, t[3] == 0x20,
            let month = matchName(t, 4, monthNames), t[7] == 0x20
        else { return nil }
        let day: Int
        if t[8] == 0x20, let single = digits(t, 9, 1) {
            day = single
        } else if let double = digits(t, 8, 2) {
            day = double
        } else {
            return nil
        }
        guard t[10] == 0x20, let time = timeOfDay(t, 11), t[19] == 0x20, let year = digits(t, 20, 4) else {
            return nil
        }
        return seconds(year: year, month: month + 1, day: day, time: time)
    }

    // MARK: - Pieces

    private static func seconds(year: Int, month: Int, day: Int, time: Int) -> Int? {
        guard day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        return days(year: year, month: month, day: day) * 86_400 + time
    }

    /// `HH:MM:SS` as seconds of the day.
    private static func timeOfDay(_ t: UnsafeRawBufferPointer, _ at: Int) -> Int? {
        guard let hour = digits(t, at, 2), t[at + 2] == UInt8(ascii: ":"), let minute = digits(t, at + 3, 2),
            t[at + 5] == UInt8(ascii: ":"), let second = digits(t, at + 6, 2),
            hour < 24, minute < 60, second <= 60
        else { return nil }
        return hour * 3600 + minute * 60 + second
    }

    private static func digits(_ t: UnsafeRawBufferPointer, _ at: Int, _ count: Int) -> Int? {
        guard at + count <= t.count else { return nil }
        var value = 0
        for index in at..<(at + count) {
            let byte = t[index]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func literal(_ t: UnsafeRawBufferPointer, _ at: Int, _ text: String) -> Bool {
        var index = at
        for byte in text.utf8 {
            guard index < t.count, same(t[index], byte) else { return false }
            index += 1
        }
        return true
    }

    private static func literal(_ t: UnsafeRawBufferPointer, _ at: Int, _ text: StaticString) -> Bool {
        guard at + text.utf8CodeUnitCount <= t.count else { return false }
        for index in 0..<text.utf8CodeUnitCount where !same(t[at + index], text.utf8Start[index]) { return false }
        return true
    }

    /// `byte` is `expected`, a letter in either case.
    private static func same(_ byte: UInt8, _ expected: UInt8) -> Bool {
        let folded = expected | 0x20
        if folded >= UInt8(ascii: "a") && folded <= UInt8(ascii: "z") { return byte | 0x20 == folded }
        return byte == expected
    }

    /// Index in `names` (three-byte names run together) of the name at `at`.
    private static func matchName(_ t: UnsafeRawBufferPointer, _ at: Int, _ names: StaticString) -> Int? {
        guard at + 3 <= t.count else { return nil }
        let p = names.utf8Start
        for index in 0..<(names.utf8CodeUnitCount / 3)
        where same(t[at], p[3 * index]) && same(t[at + 1], p[3 * index + 1]) && same(t[at + 2], p[3 * index + 2]) {
            return index
        }
        return nil
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func appendDigits(_ out: inout [UInt8], _ value: Int, _ count: Int) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }
}
