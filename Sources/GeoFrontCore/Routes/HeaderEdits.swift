/// `request_headers` / `response_headers`: `set` (replace), `add` (append) and `remove`. Names are
/// lower case.
public struct HeaderEdits: Sendable, Hashable {
    public var set: [NameValue]
    public var add: [NameValue]
    public var remove: [String]

    public init(set: [NameValue] = [], add: [NameValue] = [], remove: [String] = []) {
        self.set = set
        self.add = add
        self.remove = remove
    }

    public var isEmpty: Bool { self.set.isEmpty && add.isEmpty && remove.isEmpty }
}

/// A header or query parameter name with a value.
public struct NameValue: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}
