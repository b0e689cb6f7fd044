// The reader of a route's `match`: hosts, path, methods, headers and query.

extension RouteMatch {
    /// The keys of a `match` object.
    static let configKeys = ["hosts", "path", "methods", "headers", "query"]

    static let pathRule = "must start with \"/\" and have no spaces, controls, non-ASCII, \"?\" or \"#\""

    /// Reads `match` at `path`; nil when anything in it was reported.
    static func read(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> RouteMatch? {
        guard let fields = reader.object(value, at: path, allowed: configKeys) else { return nil }
        let before = reader.issues.count
        func key(_ name: String) -> String { ConfigReader.join(path, name) }
        var match = RouteMatch()
        if let value = fields["hosts"], let items = reader.array(value, at: key("hosts")) {
            for (index, item) in items.enumerated() {
                let itemPath = ConfigReader.join(key("hosts"), index)
                guard let text = reader.nonEmptyString(item, at: itemPath) else { continue }
                switch HostPattern.parse(text) {
                case .success(let pattern):
                    if !match.hosts.contains(pattern) { match.hosts.append(pattern) }
                case .failure(let reason): reader.fail(itemPath, "\(item.brief) \(reason.text)")
                }
            }
        }
        if let value = fields["path"], value != .null {
            match.path = readPath(value, at: key("path"), reader: &reader)
        }
        if let value = fields["methods"], let items = reader.array(value, at: key("methods")) {
            for (index, item) in items.enumerated() {
                let itemPath = ConfigReader.join(key("methods"), index)
                guard let text = reader.nonEmptyString(item, at: itemPath) else { continue }
                if !HeaderEdits.isToken(text) {
                    reader.fail(itemPath, "\(item.brief) is not a method name")
                } else if !match.methods.contains(text) {
                    match.methods.append(text)
                }
            }
        }
        if let value = fields["headers"] {
            match.headers = readPairs(value, at: key("headers"), names: "header", reader: &reader)
                .map { NameValue($0.name.lowercased(), $0.value) }
        }
        if let value = fields["query"] {
            match.query = readPairs(value, at: key("query"), names: "query parameter", reader: &reader)
        }
        return reader.issues.count == before ? match : nil
    }

    /// `{"exact": P}`, `{"prefix": P}` or `{"regex": R}`.
    private static func readPath(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> PathMatch? {
        let before = reader.issues.count
        guard let fields = reader.object(value, at: path, allowed: ["exact", "prefix", "regex"]),
            reader.issues.count == before
        else { return nil }
        guard fields.count == 1, let (kind, given) = fields.first else {
            reader.fail(path, "needs exactly one of exact, prefix or regex")
            return nil
        }
        let kindPath = ConfigReader.join(path, kind)
        guard let text = reader.nonEmptyString(given, at: kindPath) else { return nil }
        switch kind {
        case "regex":
            do {
                return .regex(try RoutePattern(text))
            } catch {
                let reason = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
                reader.fail(kindPath, "\(given.brief) is not a regular expression: \(reason)")
                return nil
            }
        default:
            guard isPath(text) else {
                reader.fail(kindPath, "\(given.brief) \(pathRule)")
                return nil
            }
            if kind == "exact" { return .exact(text) }
            var prefix = Substring(text)
            while prefix.count > 1 && prefix.hasSuffix("/") { prefix.removeLast() }
            return .prefix(String(prefix))
        }
    }

    /// An object of names (header or parameter) with exact string values, sorted by name.
    private static func readPairs(_ value: JSONValue, at path: String, names: String, reader: inout ConfigReader)
        -> [NameValue]
    {
        guard case .object(let entries) = value else {
            reader.fail(path, "expected an object of \(names) names and values, found \(value.kind)")
            return []
        }
        var pairs: [NameValue] = []
        for name in entries.keys.sorted() {
            let entryPath = ConfigReader.join(path, name)
            let valid = names == "header" ? HeaderEdits.isToken(name) : isQueryText(name) && !name.isEmpty
            guard valid else {
                reader.fail(entryPath, "\(JSONValue.string(name).brief) is not a \(names) name")
                continue
            }
            guard let text = reader.string(entries[name]!, at: entryPath) else { continue }
            let validValue = names == "header" ? HeaderEdits.isFieldValue(text) : isQueryText(text)
            guard validValue else {
                let rule =
                    names == "header"
                    ? "has a control or non-ASCII character"
                    : "has a space, control, non-ASCII, \"&\", \"=\" or \"#\" (values are compared as sent)"
                reader.fail(entryPath, "\(entries[name]!.brief) \(rule)")
                continue
            }
            if names == "header", pairs.contains(where: { $0.name.lowercased() == name.lowercased() }) {
                reader.fail(entryPath, "is given twice (header names ignore case)")
                continue
            }
            pairs.append(NameValue(name, text))
        }
        return pairs
    }

    /// A path as a request target carries it: `/`, then visible ASCII other than `?` and `#`.
    static func isPath(_ text: String) -> Bool {
        text.hasPrefix("/")
            && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
    }

    /// A query name or value as sent: visible ASCII other than `&`, `=` and `#`.
    private static func isQueryText(_ text: String) -> Bool {
        text.utf8.allSatisfy {
            $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "&") && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "#")
        }
    }
}

extension HostPattern {
    struct Refusal: Error {
        let text: String
    }

    /// A host name (letters, digits, `-`, `_`, dots between non-empty labels; no port), or `*.`
    /// followed by one: the wildcard only as the whole first label. Lower-cased; a trailing dot
    /// is dropped.
    static func parse(_ text: String) -> Result<HostPattern, Refusal> {
        var name = text.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        var wildcard = false
        if name.hasPrefix("*.") {
            wildcard = true
            name.removeFirst(2)
        }
        if name.contains("*") {
            return .failure(Refusal(text: "may use \"*\" only as the whole first label, as in *.example.com"))
        }
        if name.contains(":") {
            return .failure(Refusal(text: "must be a host name without a port (the port is ignored when matching)"))
        }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let valid =
            !name.isEmpty && name.utf8.count <= 253
            && labels.allSatisfy { label in
                !label.isEmpty && label.utf8.count <= 63
                    && label.utf8.allSatisfy { byte in
                        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                    }
            }
        guard valid else {
            return .failure(
                Refusal(text: "is not a host name (letters, digits, \"-\" and \"_\" in dot-separated labels)"))
        }
        return .success(wildcard ? .wildcard(suffix: "." + name) : .exact(name))
    }
}
