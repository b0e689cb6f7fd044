/// `affinity`: clients keep the region they were sent to, remembered in a signed cookie.
///
/// A client whose cookie names an available region (of the decision's service) that the
/// applicable policy allows stays there, whatever biases, database or region changes would say;
/// otherwise the normal rules decide and the response sets the cookie to the region chosen. The
/// cookie's value is `REGION.TOKEN`, TOKEN being an HMAC of the region's name under ``key``
/// (``AffinityToken``), so a client cannot name a region of its own choosing.
public struct AffinitySettings: Sendable, Equatable {
    /// The cookie's name (`gf_region` by default).
    public var cookie: String
    /// The cookie's `Max-Age`, in seconds.
    public var maxAgeSeconds: Int
    /// The HMAC key: `key` from the file, or the value of the variable `key_env` names.
    public var key: [UInt8]
    /// The variable the key was read from (`key_env`), for messages; nil when the file has it.
    public var keyEnvironmentVariable: String?

    public static let defaultCookie = "gf_region"
    public static let defaultMaxAgeSeconds = 3600
    /// The shortest key accepted, in bytes.
    public static let minimumKeyLength = 16

    public init(
        cookie: String = AffinitySettings.defaultCookie, maxAgeSeconds: Int = AffinitySettings.defaultMaxAgeSeconds,
        key: [UInt8], keyEnvironmentVariable: String? = nil
    ) {
        self.cookie = cookie
        self.maxAgeSeconds = maxAgeSeconds
        self.key = key
        self.keyEnvironmentVariable = keyEnvironmentVariable
    }
}
