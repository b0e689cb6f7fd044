import Foundation

// The reader of `affinity` (called by ConfigLoader).

extension AffinitySettings {
    static let configKeys = ["cookie", "max_age_s", "key", "key_env"]

    /// `{"cookie": NAME, "max_age_s": N, "key": TEXT}` or with `"key_env": VARIABLE` instead of
    /// `key`; the variable is read now, from `environment`.
    static func read(
        _ value: JSONValue, reader: inout ConfigReader,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> AffinitySettings? {
        let path = "affinity"
        guard let fields = reader.object(value, at: path, allowed: configKeys) else { return nil }
        func key(_ name: String) -> String { ConfigReader.join(path, name) }
        let before = reader.issues.count
        var cookie = defaultCookie
        if let value = fields["cookie"], let name = reader.nonEmptyString(value, at: key("cookie")) {
            if HeaderEdits.isToken(name) {
                cookie = name
            } else {
                reader.fail(key("cookie"), "\(value.brief) is not a cookie name")
            }
        }
        var maxAge = defaultMaxAgeSeconds
        if let value = fields["max_age_s"],
            let seconds = reader.integer(value, at: key("max_age_s"), in: 1...315_360_000)
        {
            maxAge = seconds
        }
        var secret: [UInt8]?
        var variable: String?
        switch (fields["key"], fields["key_env"]) {
        case (nil, nil), (.some, .some):
            reader.fail(path, "needs exactly one of key or key_env")
        case (let value?, nil):
            if let text = reader.string(value, at: key("key")) {
                if text.utf8.count < minimumKeyLength {
                    reader.fail(key("key"), "is \(text.utf8.count) characters; at least \(minimumKeyLength) are needed")
                } else {
                    secret = Array(text.utf8)
                }
            }
        case (nil, let value?):
            if let name = reader.nonEmptyString(value, at: key("key_env")) {
                variable = name
                if let text = environment[name] {
                    if text.utf8.count < minimumKeyLength {
                        reader.fail(
                            key("key_env"),
                            "the environment variable \(name) is \(text.utf8.count) characters; "
                                + "at least \(minimumKeyLength) are needed")
                    } else {
                        secret = Array(text.utf8)
                    }
                } else {
                    reader.fail(key("key_env"), "the environment variable \(name) is not set")
                }
            }
        }
        guard reader.issues.count == before, let secret else { return nil }
        return AffinitySettings(cookie: cookie, maxAgeSeconds: maxAge, key: secret, keyEnvironmentVariable: variable)
    }
}
