extension RateLimitSettings {
    /// The keys of the `rate_limit` object.
    static let configKeys = ["requests_per_second", "burst", "key", "allow", "max_tracked_clients", "store"]

    /// Reads `rate_limit`: nil (off) when absent, `null` or `false`, and when `requests_per_second`
    /// is missing or wrong.
    static func read(_ value: JSONValue?, reader: inout ConfigReader) -> RateLimitSettings? {
        guard let value, value != .null, value != .bool(false) else { return nil }
        guard let fields = reader.object(value, at: "rate_limit", allowed: configKeys),
            let rateValue = reader.required(fields, "requests_per_second", at: "rate_limit"),
            let rate = reader.number(rateValue, at: "rate_limit.requests_per_second")
        else { return nil }
        guard rate > 0, rate <= 1_000_000 else {
            reader.fail("rate_limit.requests_per_second", "\(rateValue.brief) must be more than 0 (at most 1000000)")
            return nil
        }
        var settings = RateLimitSettings(requestsPerSecond: rate, burst: max(1, rate))
        if let value = fields["burst"], let burst = reader.number(value, at: "rate_limit.burst") {
            if burst >= 1 && burst <= 10_000_000 {
                settings.burst = burst
            } else {
                reader.fail("rate_limit.burst", "\(value.brief) must be at least 1 (at most 10000000)")
            }
        }
        if let value = fields["key"], let text = reader.string(value, at: "rate_limit.key") {
            if let key = Key(rawValue: text) {
                settings.key = key
            } else {
                reader.fail("rate_limit.key", "\(value.brief) is not a key; allowed: \"ip\", \"prefix\"")
            }
        }
        if let value = fields["allow"], let networks = reader.networks(value, at: "rate_limit.allow") {
            settings.allow = networks
        }
        reader.integer(
            fields, "max_tracked_clients", at: "rate_limit", in: 100...10_000_000, into: &settings.maxTrackedClients)
        if let value = fields["store"] { settings.store = RateLimitStoreSettings.read(value, reader: &reader) }
        return settings
    }
}
