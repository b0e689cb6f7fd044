/// One problem in a configuration file: where (a JSON path such as `regions[2].location.latitude`)
/// and why.
public struct ConfigIssue: Hashable, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// A configuration that cannot be used, with every problem found (not just the first).
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// The file the configuration came from, when it came from a file.
    public let file: String?
    public let issues: [ConfigIssue]

    public init(file: String?, issues: [ConfigIssue]) {
        self.file = file
        self.issues = issues
    }

    public var description: String {
        let head = file.map { "\($0): " } ?? ""
        if issues.count == 1 { return head + issues[0].description }
        return head + "\(issues.count) problems\n" + issues.map { "  " + $0.description }.joined(separator: "\n")
    }
}
