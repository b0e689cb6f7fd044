extension HealthCheckSettings {
    /// The keys of a `health_check` object (global or a region's).
    static let configKeys = [
        "type", "path", "interval_ms", "timeout_ms", "rise", "fall", "expect_status", "expect_body", "host",
        "quorum",
    ]

    /// Reads a `health_check` object at `path`; missing keys come from `base` (the global check, or
    /// the defaults). nil when anything in it is wrong.
    static func read(
        _ value: JSONValue, at path: String, base: HealthCheckSettings, reader: inout ConfigReader
    ) -> HealthCheckSettings? {
        guard let fields = reader.object(value, at: path, allowed: configKeys) else { return nil }
        let before = reader.issues.count
        var settings = base
        func key(_ name: String) -> String { ConfigReader.join(path, name) }
        if let value = fields["type"], let text = reader.string(value, at: key("type")) {
            if let kind = Kind(rawValue: text) {
                settings.kind = kind
            } else {
                reader.fail(key("type"), "\(value.brief) is not a check type; allowed: \"http\", \"tcp\"")
            }
        }
        if let value = fields["path"], let text = reader.string(value, at: key("path")) {
            if text.hasPrefix("/") && text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) {
                settings.path = text
            } else {
                reader.fail(
                    key("path"), "\(value.brief) must start with \"/\" and have no spaces or control characters")
            }
        }
        reader.integer(fields, "interval_ms", at: path, in: 10...3_600_000, into: &settings.intervalMilliseconds)
        reader.integer(fields, "timeout_ms", at: path, in: 1...3_600_000, into: &settings.timeoutMilliseconds)
        reader.integer(fields, "rise", at: path, in: 1...100, into: &settings.rise)
        reader.integer(fields, "fall", at: path, in: 1...100, into: &settings.fall)
        if let value = fields["expect_status"] {
            let text: String?
            if case .number = value, let number = reader.integer(value, at: key("expect_status"), in: 100...599) {
                text = String(number)
            } else if case .string(let string) = value {
                text = string
            } else {
                if case .number = value {
                } else {
                    reader.fail(key("expect_status"), "expected a string such as \"200-399\", found \(value.kind)")
                }
                text = nil
            }
            if let text {
                if let ranges = StatusRanges(text) {
                    settings.expectStatus = ranges
                } else {
                    reader.fail(
                        key("expect_status"), "\(value.brief) is not a status list such as \"200-399\" or \"200,204\"")
                }
            }
        }
        if let value = fields["expect_body"] {
            if value == .null {
                settings.expectBody = nil
            } else if let text = reader.nonEmptyString(value, at: key("expect_body")) {
                settings.expectBody = text
            }
        }
        if let value = fields["host"] {
            if value == .null {
                settings.host = nil
            } else if let text = reader.nonEmptyString(value, at: key("host")) {
                if text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) {
                    settings.host = text
                } else {
                    reader.fail(key("host"), "\(value.brief) must be a host name without spaces or control characters")
                }
            }
        }
        if let value = fields["quorum"] {
            if value == .null {
                settings.quorum = nil
            } else if let number = reader.number(value, at: key("quorum")) {
                if number > 0 && number <= 1 {
                    settings.quorum = number
                } else {
                    reader.fail(
                        key("quorum"),
                        "\(value.brief) must be a fraction greater than 0 and at most 1 (the share of the instances checking a target that must see it down), e.g. 0.66"
                    )
                }
            }
        }
        if settings.timeoutMilliseconds >= settings.intervalMilliseconds {
            reader.fail(
                key("timeout_ms"),
                "\(settings.timeoutMilliseconds) must be less than interval_ms (\(settings.intervalMilliseconds))")
        }
        return reader.issues.count == before ? settings : nil
    }
}
