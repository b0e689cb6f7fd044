/// The admin listener (`admin`): metrics, status, drains, reloads. Never the public listener.
public struct AdminSettings: Sendable, Hashable {
    /// nil disables the admin listener.
    public var listen: HostPort? = HostPort(host: "127.0.0.1", port: 9901)
    /// Bearer token required on every admin request; when nil, the environment variable named
    /// by `tokenEnvironmentVariable` is used if set; no token means no authentication.
    public var token: String?
    public var tokenEnvironmentVariable = "GEOFRONT_ADMIN_TOKEN"

    public init() {}
}

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
