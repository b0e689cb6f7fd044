import GeoFrontCore
import NIOCore

/// What the cache reads from an upstream response head, found in one pass over its field lines
/// in place: text is made only for the fields the rules use (`Cache-Control`, `CDN-Cache-Control`,
/// `Date`, `Expires`, `Last-Modified`, `Age`, `ETag`, `Vary`, the purge tags, `Location`,
/// `Content-Location`).
/// When asked (`keeping`), the same pass also writes the field lines a stored head keeps
/// (``StoredHead``), so that a response that is stored is walked once.
struct ResponseCacheFields {
    var headers = CacheHeaders()
    var etag: String?
    var lastModified: String?
    /// `Vary`'s names, lower case, sorted, once each.
    var varyNames: [String] = []
    var tags: [String] = []
    var location: String?
    var contentLocation: String?
    /// The stored head's wire form (status line and kept field lines), when asked for.
    var wire: ByteBuffer?

    /// `keeping`: write ``wire`` too, without the snapshot's `strip` fields. `dates`: the loop's
    /// last `Date`, which most responses repeat.
    init(
        _ bytes: UnsafeRawBufferPointer, head: ResponseHead,
        keeping: (strip: [[UInt8]], allocator: ByteBufferAllocator)? = nil, dates: HTTPDateMemo? = nil
    ) {
        if let keeping {
            var wire = keeping.allocator.buffer(capacity: head.length)
            StoredHead.writeStatusLine(bytes, head: head, into: &wire)
            self.wire = wire
        }
        var tagFields: [(name: String, value: String)] = []
        var targetedLines: [[UInt8]] = []
        var vary: Set<String> = []
        var index = head.fieldsStart
        while let field = try? FieldLines.next(bytes, at: &index, end: head.length) {
            let name = field.name
            let value = field.value
            if let strip = keeping?.strip, StoredHead.keeps(bytes, name, head: head, strip: strip) {
                wire!.writeBytes(field.line.bytes(in: bytes))
            }
            switch name.count {
            case 3 where FieldLines.equals(bytes, name, "age"):
                if headers.age == nil { headers.age = CacheHeaders.age(value.bytes(in: bytes)) }
            case 4 where FieldLines.equals(bytes, name, "date"):
                if headers.date == nil {
                    let text = value.bytes(in: bytes)
                    if let dates { headers.date = dates.parse(text) } else { headers.date = HTTPDate.parse(text) }
                }
            case 4 where FieldLines.equals(bytes, name, "etag"):
                headers.hasETag = true
                if etag == nil { etag = Self.text(bytes, value) }
            case 4 where FieldLines.equals(bytes, name, "vary"):
                for part in Self.text(bytes, value).split(separator: ",") {
                    let token = part.filter { $0 != " " && $0 != "\t" }.lowercased()
                    if token == "*" { headers.varyStar = true }
                    if !token.isEmpty { vary.insert(token) }
                }
            case 6 where FieldLines.equals(bytes, name, "pragma"):
                if Self.text(bytes, value).lowercased().contains("no-cache") { headers.pragmaNoCache = true }
            case 7 where FieldLines.equals(bytes, name, "expires"):
                if headers.expires == .absent {
                    headers.expires = HTTPDate.parse(value.bytes(in: bytes)).map { .at($0) } ?? .invalid
                }
            case 8 where FieldLines.equals(bytes, name, "location"):
                if location == nil { location = Self.text(bytes, value) }
            case 9 where FieldLines.equals(bytes, name, "cache-tag"):
                tagFields.append(("cache-tag", Self.text(bytes, value)))
            case 10 where FieldLines.equals(bytes, name, "set-cookie"):
                headers.hasSetCookie = true
            case 13 where FieldLines.equals(bytes, name, "cache-control"):
                headers.cacheControl.parse(value.bytes(in: bytes))  // each line adds to the last
            case 13 where FieldLines.equals(bytes, name, "last-modified"):
                if lastModified == nil {
                    lastModified = Self.text(bytes, value)
                    headers.lastModified = HTTPDate.parse(value.bytes(in: bytes))
                }
            case 13 where FieldLines.equals(bytes, name, "surrogate-key"):
                tagFields.append(("surrogate-key", Self.text(bytes, value)))
            case 16 where FieldLines.equals(bytes, name, "content-location"):
                if contentLocation == nil { contentLocation = Self.text(bytes, value) }
            case 17 where FieldLines.equals(bytes, name, "cdn-cache-control"):
                targetedLines.append(Array(value.bytes(in: bytes)))
            default:
                break
            }
        }
        if !targetedLines.isEmpty { headers.applyTargeted(TargetedCacheControl.parse(lines: targetedLines)) }
        if !vary.isEmpty { varyNames = vary.sorted() }
        if !tagFields.isEmpty { tags = SurrogateKeys.tags(in: tagFields) }
    }

    private static func text(_ bytes: UnsafeRawBufferPointer, _ span: RequestHead.Span) -> String {
        String(decoding: span.bytes(in: bytes), as: UTF8.self)
    }
}
