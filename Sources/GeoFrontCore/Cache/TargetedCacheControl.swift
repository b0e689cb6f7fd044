/// `CDN-Cache-Control` (RFC 9213): cache directives for CDN-like caches such as this one, which
/// take the place of `Cache-Control` and `Expires` for this cache when the field is valid and not
/// empty (§2.1). Downstream caches and clients still see `Cache-Control`; the field is passed on
/// as it came.
///
/// The value is a Structured Field Dictionary (``StructuredDictionary``); one that is not valid is
/// ignored whole (the response's `Cache-Control` then applies). Directive names are the
/// dictionary's keys, so they are lower case. Read here: `max-age`, `s-maxage`,
/// `stale-while-revalidate`, `stale-if-error` (Integers, at least 0, saturated at 2^31), and
/// `no-store`, `no-cache`, `private`, `public`, `must-revalidate`, `proxy-revalidate` (as present
/// when true; a String argument lists fields, read as the unqualified directive, as
/// ``CacheControl`` reads it). A directive of another type is ignored (§2.1); others are
/// extensions, ignored.
public enum TargetedCacheControl {
    /// The field's name, lower case.
    public static let fieldName = "cdn-cache-control"

    /// The directives of the field's value (its lines joined with `, `), or nil when the value is
    /// empty or not a valid dictionary.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> CacheControl? {
        guard let members = StructuredDictionary.parse(bytes), !members.isEmpty else { return nil }
        var directives = CacheControl()
        for (key, value) in members {
            switch key {
            case "max-age": directives.maxAge = seconds(value)
            case "s-maxage": directives.sMaxAge = seconds(value)
            case "stale-while-revalidate": directives.staleWhileRevalidate = seconds(value)
            case "stale-if-error": directives.staleIfError = seconds(value)
            case "no-store": directives.noStore = present(value)
            case "no-cache": directives.noCache = present(value)
            case "private": directives.isPrivate = present(value)
            case "public": directives.isPublic = present(value)
            case "must-revalidate": directives.mustRevalidate = present(value)
            case "proxy-revalidate": directives.proxyRevalidate = present(value)
            default: break
            }
        }
        return directives
    }

    /// The field's lines in `values`, joined as RFC 8941 §4.2 says.
    public static func parse(lines values: [[UInt8]]) -> CacheControl? {
        guard !values.isEmpty else { return nil }
        var joined: [UInt8] = []
        for value in values {
            if !joined.isEmpty { joined += Array(", ".utf8) }
            joined += value
        }
        return joined.withUnsafeBytes { parse($0) }
    }

    private static func seconds(_ value: StructuredDictionary.Value) -> Int? {
        guard case .integer(let number) = value, number >= 0 else { return nil }
        return min(number, CacheControl.maxDeltaSeconds)
    }

    private static func present(_ value: StructuredDictionary.Value) -> Bool {
        switch value {
        case .boolean(let flag): flag
        case .string: true
        default: false
        }
    }
}
