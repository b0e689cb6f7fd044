/// What the cache rules need from one message's fields, gathered from a simple name/value list
/// (the proxy wiring will adapt its heads to this). Names match ASCII case-insensitively; repeated
/// `Cache-Control` lines combine; for single-valued fields (`Date`, `Expires`, `Last-Modified`,
/// `Age`) the first line is used (RFC 9111 §4.2.1: "the first occurrence should be used").
public struct CacheHeaders: Sendable, Equatable {
    /// `Expires` (RFC 9111 §5.3): an invalid value (e.g. `0`) means already expired.
    public enum Expires: Sendable, Equatable {
        case absent
        case invalid
        case at(Int)
    }

    public var cacheControl = CacheControl()
    /// `Date` (RFC 9110 §6.6.1); nil when absent or invalid.
    public var date: Int?
    public var expires = Expires.absent
    public var lastModified: Int?
    /// `Age` (RFC 9111 §5.1); nil when absent, or invalid (not a non-negative integer): ignored.
    /// A list on one line (`7200, 0`) counts as its first member, as a second line would not.
    public var age: Int?
    public var hasETag = false
    public var hasAuthorization = false
    public var hasSetCookie = false
    /// `Vary` lists `*` (RFC 9110 §12.5.5).
    public var varyStar = false
    /// `Pragma: no-cache` (RFC 9111 §5.4, deprecated), kept for the caller to decide on.
    public var pragmaNoCache = false

    public init() {}

    public init(_ fields: [(name: String, value: String)]) {
        var cacheControlValues: [[UInt8]] = []
        var targetedValues: [[UInt8]] = []
        var sawDate = false
        var sawLastModified = false
        var sawAge = false
        for (name, value) in fields {
            switch name.lowercased() {
            case "cache-control":
                cacheControlValues.append(Array(value.utf8))
            case TargetedCacheControl.fieldName:
                targetedValues.append(Array(value.utf8))
            case "date" where !sawDate:
                sawDate = true
                date = HTTPDate.parse(value)
            case "expires":
                if expires == .absent { expires = HTTPDate.parse(value).map { .at($0) } ?? .invalid }
            case "last-modified" where !sawLastModified:
                sawLastModified = true
                lastModified = HTTPDate.parse(value)
            case "age" where !sawAge:
                sawAge = true
                var text = value
                age = text.withUTF8 { Self.age(UnsafeRawBufferPointer($0)) }
            case "etag":
                hasETag = true
            case "authorization":
                hasAuthorization = true
            case "set-cookie":
                hasSetCookie = true
            case "vary":
                if value.split(separator: ",").contains(where: { $0.trimmingWhitespace() == "*" }) { varyStar = true }
            case "pragma":
                if value.split(separator: ",").contains(where: { $0.trimmingWhitespace().lowercased() == "no-cache" }) {
                    pragmaNoCache = true
                }
            default:
                break
            }
        }
        cacheControl = CacheControl(fieldValues: cacheControlValues)
        applyTargeted(TargetedCacheControl.parse(lines: targetedValues))
    }

    /// RFC 9213 §2.1: a valid, non-empty `CDN-Cache-Control` decides for this cache instead of
    /// `Cache-Control` and `Expires`.
    public mutating func applyTargeted(_ targeted: CacheControl?) {
        guard let targeted else { return }
        cacheControl = targeted
        expires = .absent
    }

    /// An `Age` field value: the delta-seconds (RFC 9111 §1.2.2, saturated at 2^31) of its first
    /// list member, trimmed; nil when that is not plain digits. An `Age` repeated in a list on one
    /// line is read as it is on separate lines, where the first is used (§4.2.1, §5.1).
    public static func age(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let first = bytes.firstIndex(of: UInt8(ascii: ",")) ?? bytes.count
        let digits = FieldLines.trimmingOWS(UnsafeRawBufferPointer(rebasing: bytes[..<first]))
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = min(value * 10 + Int(byte - UInt8(ascii: "0")), CacheControl.maxDeltaSeconds)
        }
        return value
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
