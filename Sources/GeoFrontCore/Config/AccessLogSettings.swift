/// The optional access log (`access_log`): one line per request.
public struct AccessLogSettings: Sendable, Hashable {
    public enum Format: String, Sendable, CaseIterable {
        case json
        case text
    }

    /// File to append to; nil writes to standard output.
    public var path: String?
    public var format: Format = .json

    public init(path: String? = nil, format: Format = .json) {
        self.path = path
        self.format = format
    }
}

extension AccessLogSettings {
    /// Reads `access_log`: nil (off) when absent, `null` or `false`; `true` is the defaults.
    static func read(_ value: JSONValue?, reader: inout ConfigReader) -> AccessLogSettings? {
        guard let value, value != .null, value != .bool(false) else { return nil }
        if value == .bool(true) { return AccessLogSettings() }
        guard let fields = reader.object(value, at: "access_log", allowed: ["path", "format"]) else { return nil }
        var settings = AccessLogSettings()
        if let value = fields["path"], value != .null, let path = reader.nonEmptyString(value, at: "access_log.path") {
            settings.path = reader.resolve(path)
        }
        if let value = fields["format"], let text = reader.string(value, at: "access_log.format") {
            if let format = Format(rawValue: text) {
                settings.format = format
            } else {
                reader.fail("access_log.format", "\(value.brief) is not a format; allowed: \"json\", \"text\"")
            }
        }
        return settings
    }
}
