import Foundation
import GeoIP

/// Walks a ``JSONValue`` tree for the config loader and the section readers (`static func read`
/// beside each settings type), collecting every problem with its JSON path.
/// Each accessor returns nil when the value is missing (and optional) or wrong (and reported).
struct ConfigReader {
    private(set) var issues: [ConfigIssue] = []
    /// The config file's folder: relative paths inside the file resolve against it.
    let baseDirectory: String

    init(baseDirectory: String) {
        self.baseDirectory = baseDirectory
    }

    mutating func fail(_ path: String, _ message: String) {
        issues.append(ConfigIssue(path: path, message: message))
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    static func join(_ path: String, _ index: Int) -> String {
        "\(path)[\(index)]"
    }

    /// An object whose keys must all be in `allowed`; unknown keys (typos) are reported with a
    /// suggestion when one allowed key is close.
    mutating func object(_ value: JSONValue, at path: String, allowed: [String]) -> [String: JSONValue]? {
        guard case .object(let fields) = value else {
            fail(path, "expected an object, found \(value.kind)")
            return nil
        }
        for key in fields.keys.sorted() where !allowed.contains(key) {
            let suggestion = allowed.min { editDistance($0, key) < editDistance($1, key) }
            if let suggestion, editDistance(suggestion, key) <= 2 {
                fail(ConfigReader.join(path, key), "unknown key (did you mean \"\(suggestion)\"?)")
            } else {
                fail(
                    ConfigReader.join(path, key),
                    "unknown key; allowed here: \(allowed.joined(separator: ", "))")
            }
        }
        return fields
    }

    /// The `name` of item `index` of the array `list` (regions, routes): required, a valid name
    /// (``RegionConfig/isValidName(_:)``) and not an earlier item's; nil (with the problem
    /// reported) otherwise.
    mutating func uniqueName(
        _ fields: [String: JSONValue], at path: String, index: Int, list: String,
        firstIndexByName: inout [String: Int]
    ) -> String? {
        guard let value = required(fields, "name", at: path),
            let text = nonEmptyString(value, at: Self.join(path, "name"))
        else { return nil }
        if !RegionConfig.isValidName(text) {
            fail(
                Self.join(path, "name"),
                "\(value.brief) may only use a-z, 0-9, \".\", \"_\" and \"-\" (at most 63 characters)")
            return nil
        }
        if let first = firstIndexByName[text] {
            fail(Self.join(path, "name"), "\(value.brief) is already the name of \(list)[\(first)]")
            return nil
        }
        firstIndexByName[text] = index
        return text
    }

    mutating func required(_ fields: [String: JSONValue], _ key: String, at path: String) -> JSONValue? {
        guard let value = fields[key], value != .null else {
            fail(ConfigReader.join(path, key), "is required")
            return nil
        }
        return value
    }

    mutating func string(_ value: JSONValue, at path: String) -> String? {
        guard case .string(let text) = value else {
            fail(path, "expected a string, found \(value.kind)")
            return nil
        }
        return text
    }

    mutating func nonEmptyString(_ value: JSONValue, at path: String) -> String? {
        guard let text = string(value, at: path) else { return nil }
        guard !text.isEmpty else {
            fail(path, "must not be empty")
            return nil
        }
        return text
    }

    mutating func number(_ value: JSONValue, at path: String) -> Double? {
        guard case .number(let number) = value else {
            fail(path, "expected a number, found \(value.kind)")
            return nil
        }
        return number
    }

    mutating func integer(_ value: JSONValue, at path: String, in range: ClosedRange<Int>) -> Int? {
        guard let number = number(value, at: path) else { return nil }
        guard number == number.rounded(), number >= Double(range.lowerBound), number <= Double(range.upperBound)
        else {
            fail(path, "\(value.brief) must be a whole number in \(range.lowerBound)…\(range.upperBound)")
            return nil
        }
        return Int(number)
    }

    /// An optional integer field: `fields[name]`, checked against `range` and reported at
    /// `parent.name`; stored in `target` when present and valid, which otherwise keeps its value.
    mutating func integer(
        _ fields: [String: JSONValue], _ name: String, at parent: String, in range: ClosedRange<Int>,
        into target: inout Int
    ) {
        if let value = fields[name], let number = integer(value, at: ConfigReader.join(parent, name), in: range) {
            target = number
        }
    }

    mutating func bool(_ value: JSONValue, at path: String) -> Bool? {
        guard case .bool(let flag) = value else {
            fail(path, "expected true or false, found \(value.kind)")
            return nil
        }
        return flag
    }

    mutating func array(_ value: JSONValue, at path: String) -> [JSONValue]? {
        guard case .array(let items) = value else {
            fail(path, "expected an array, found \(value.kind)")
            return nil
        }
        return items
    }

    /// A listener address (`listen`, `admin.listen`, `tls.listen`): a non-empty `host:port`, port 0
    /// allowed (the system picks one).
    mutating func listenAddress(_ value: JSONValue, at path: String) -> HostPort? {
        guard let text = nonEmptyString(value, at: path) else { return nil }
        switch HostPort.parse(text, allowZeroPort: true) {
        case .success(let address): return address
        case .failure(let error):
            fail(path, "\(value.brief): \(error.reason)")
            return nil
        }
    }

    /// An array of CIDR blocks (`trusted_proxies`, `rate_limit.allow`); the valid ones, in order.
    mutating func networks(_ value: JSONValue, at path: String) -> [IPNetwork]? {
        guard let items = array(value, at: path) else { return nil }
        var networks: [IPNetwork] = []
        for (index, item) in items.enumerated() {
            let itemPath = ConfigReader.join(path, index)
            guard let text = string(item, at: itemPath) else { continue }
            if let network = IPNetwork(text) {
                networks.append(network)
            } else {
                fail(itemPath, "\(item.brief) is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32")
            }
        }
        return networks
    }

    /// `path` as given when absolute, else resolved against ``baseDirectory``.
    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: baseDirectory, isDirectory: true))
            .standardized.path
    }
}

/// Levenshtein distance, for "did you mean" suggestions on short keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8)
    let b = Array(b.utf8)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
