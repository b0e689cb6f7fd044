import GeoFrontCore

/// Which answer a usable stored response gives a request (RFC 9110 §13, §14): 304 when the
/// request's own validators match it, 206/416 for a single byte range of a stored 200, else
/// the whole response (its head alone for HEAD).
enum CacheAnswerKind {
    static func choose(_ entry: StoredResponse, request: CacheRequest) -> CachedAnswers.Kind {
        let headOnly = request.method == .head
        if notModified(entry, request: request) { return .notModified }
        if let range = request.range, entry.head.status == 200, request.method == .get,
            ifRangeHolds(entry, request.ifRange)
        {
            switch byteRange(range, length: entry.body.readableBytes) {
            case .some(.some(let bounds)): return .partial(bounds, headOnly: headOnly)
            case .some(.none): return .rangeNotSatisfiable
            case .none: break
            }
        }
        return .full(headOnly: headOnly)
    }

    /// RFC 9110 §13.1.2 (weak comparison) and §13.1.3 (only without `If-None-Match`).
    static func notModified(_ entry: StoredResponse, request: CacheRequest) -> Bool {
        if let ifNoneMatch = request.ifNoneMatch {
            let tags = ifNoneMatch.split(separator: ",").map { weakless($0) }
            if tags.contains("*") { return true }
            guard let etag = entry.head.etag else { return false }
            return tags.contains(weakless(Substring(etag)))
        }
        if let since = request.ifModifiedSince, let date = HTTPDate.parse(since) {
            let modified = entry.head.lastModified.flatMap { HTTPDate.parse($0) } ?? entry.head.headers.date
            if let modified { return modified <= date }
        }
        return false
    }

    private static func weakless(_ tag: Substring) -> String {
        var text = tag.drop { $0 == " " || $0 == "\t" }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        return String(text)
    }

    /// §13.1.5: a range applies when `If-Range` is absent or its strong validator matches.
    private static func ifRangeHolds(_ entry: StoredResponse, _ ifRange: String?) -> Bool {
        guard let ifRange else { return true }
        if ifRange.hasPrefix("\"") { return entry.head.etag == ifRange }
        if let date = HTTPDate.parse(ifRange), let modified = entry.head.lastModified.flatMap({ HTTPDate.parse($0) }) {
            return date == modified
        }
        return false
    }

    /// One `bytes=` range: nil (ignore: serve all), .some(nil) (unsatisfiable), or the bounds.
    private static func byteRange(_ value: String, length: Int) -> ClosedRange<Int>?? {
        guard value.hasPrefix("bytes="), !value.contains(",") else { return nil }
        let spec = value.dropFirst(6).filter { $0 != " " }
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let suffix = Int(last), suffix >= 0 else { return nil }
            if suffix == 0 || length == 0 { return .some(nil) }
            return .some(max(0, length - suffix)...(length - 1))
        }
        guard let start = Int(first), start >= 0 else { return nil }
        let end = last.isEmpty ? length - 1 : Int(last).map { min($0, length - 1) }
        guard let end else { return nil }
        if !last.isEmpty, Int(last)! < start { return nil }
        if start >= length { return .some(nil) }
        return .some(start...end)
    }
}
