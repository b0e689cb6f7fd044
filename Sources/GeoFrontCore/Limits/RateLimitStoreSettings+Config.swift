import Foundation

extension RateLimitStoreSettings {
    /// The keys of the `rate_limit.store` object.
    static let configKeys = ["redis", "password_env", "timeout_ms", "on_error"]

    /// Reads `rate_limit.store`: nil (buckets per event loop) when `null` or `false`, and when it
    /// is wrong (reported). The password may come from the URL or, with `password_env`, from the
    /// environment variable it names (read now, from `environment`).
    static func read(
        _ value: JSONValue, reader: inout ConfigReader,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> RateLimitStoreSettings? {
        guard value != .null, value != .bool(false) else { return nil }
        let path = "rate_limit.store"
        guard let fields = reader.object(value, at: path, allowed: configKeys),
            let urlValue = reader.required(fields, "redis", at: path),
            let url = reader.nonEmptyString(urlValue, at: "\(path).redis")
        else { return nil }
        var endpoint: RedisEndpoint
        switch RedisEndpoint.parse(url) {
        case .success(let parsed):
            endpoint = parsed
        case .failure(let error):
            // The URL may hold a password: it is not repeated.
            reader.fail("\(path).redis", "is not a Redis URL such as redis://127.0.0.1:6379: \(error.reason)")
            return nil
        }
        var valid = true
        if let value = fields["password_env"], let name = reader.nonEmptyString(value, at: "\(path).password_env") {
            if endpoint.password != nil {
                reader.fail("\(path).password_env", "the redis URL has a password already: give one or the other")
                valid = false
            } else if let password = environment[name], !password.isEmpty {
                endpoint.password = password
            } else {
                reader.fail("\(path).password_env", "the environment variable \(name) is unset or empty")
                valid = false
            }
        }
        if valid, endpoint.username != nil, endpoint.password == nil {
            reader.fail(
                "\(path).redis", "the user \(endpoint.username!) needs a password: in the URL or from password_env")
            valid = false
        }
        var settings = RateLimitStoreSettings(endpoint: endpoint)
        if let value = fields["timeout_ms"] {
            if let number = reader.integer(value, at: "\(path).timeout_ms", in: 1...10_000) {
                settings.timeoutMilliseconds = number
            } else {
                valid = false
            }
        }
        if let value = fields["on_error"], let text = reader.string(value, at: "\(path).on_error") {
            if let choice = OnError(rawValue: text) {
                settings.onError = choice
            } else {
                reader.fail(
                    "\(path).on_error", "\(value.brief) is not a choice; allowed: \"local\", \"allow\", \"deny\"")
                valid = false
            }
        }
        return valid ? settings : nil
    }
}
