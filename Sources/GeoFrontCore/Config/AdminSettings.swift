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

extension AdminSettings {
    /// Reads `admin`: the defaults when absent, off when `null` or `false`. `publicListen` is the
    /// plain listener (`listen`), which `admin.listen` may not share.
    static func read(_ value: JSONValue?, publicListen: HostPort?, reader: inout ConfigReader) -> AdminSettings {
        var admin = AdminSettings()
        guard let value else { return admin }
        if value == .null || value == .bool(false) {
            admin.listen = nil
            return admin
        }
        guard let fields = reader.object(value, at: "admin", allowed: ["listen", "token", "token_env"]) else {
            return admin
        }
        if let value = fields["listen"] {
            if value == .null {
                admin.listen = nil
            } else if let address = reader.listenAddress(value, at: "admin.listen") {
                if let publicListen, address == publicListen, address.port != 0 {
                    reader.fail(
                        "admin.listen", "\(value.brief) is the public listener; the admin API needs its own address")
                } else {
                    admin.listen = address
                }
            }
        }
        if let value = fields["token"], value != .null, let token = reader.nonEmptyString(value, at: "admin.token") {
            admin.token = token
        }
        if let value = fields["token_env"], let name = reader.nonEmptyString(value, at: "admin.token_env") {
            admin.tokenEnvironmentVariable = name
        }
        return admin
    }
}
