/// The purge tags of a response: `Surrogate-Key` (space-separated, as Fastly and Varnish read it)
/// and `Cache-Tag` (comma-separated, as Cloudflare reads it). Both fields are stripped before the
/// client sees the response; the tags are kept with the stored entry for `POST /cache/purge`.
public enum SurrogateKeys {
    /// The tags in `fields` (name, value pairs; names in any case), in order, each once.
    public static func tags(in fields: [(name: String, value: String)]) -> [String] {
        var tags: [String] = []
        var seen: Set<String> = []
        for field in fields {
            let name = field.name.lowercased()
            let separator: Character
            switch name {
            case "surrogate-key": separator = " "
            case "cache-tag": separator = ","
            default: continue
            }
            for part in field.value.split(separator: separator) {
                let tag = part.trimmingSpaces()
                if !tag.isEmpty, seen.insert(tag).inserted { tags.append(tag) }
            }
        }
        return tags
    }

    /// Whether a field is one of the two that carry tags (stripped from the client's response).
    public static func isTagField(_ lowercasedName: String) -> Bool {
        lowercasedName == "surrogate-key" || lowercasedName == "cache-tag"
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
