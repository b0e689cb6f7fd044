import GeoFrontCore

/// Text helpers for the head parser tests: what a span covers, where a string starts.
enum HeadText {
    static func text(_ span: RequestHead.Span, in text: String) -> String {
        let bytes = Array(text.utf8)
        return String(decoding: bytes[span.start..<(span.start + span.count)], as: UTF8.self)
    }

    /// Byte offset of the first occurrence of `needle` in `text`.
    static func offset(of needle: String, in text: String) -> Int? {
        let haystack = Array(text.utf8)
        let needle = Array(needle.utf8)
        guard needle.count <= haystack.count else { return nil }
        return (0...(haystack.count - needle.count)).first {
            haystack[$0..<($0 + needle.count)].elementsEqual(needle)
        }
    }
}
