/// Redirect-mode settings (`redirect`).
public struct RedirectSettings: Sendable, Hashable {
    /// 301, 302, 303, 307 or 308.
    public var status: Int

    public static let allowedStatuses = [301, 302, 303, 307, 308]

    public init(status: Int = 302) {
        self.status = status
    }
}

extension RedirectSettings {
    /// Reads the `redirect` object; the defaults when it is absent.
    static func read(_ value: JSONValue?, reader: inout ConfigReader) -> RedirectSettings {
        var redirect = RedirectSettings()
        guard let value, let fields = reader.object(value, at: "redirect", allowed: ["status"]) else {
            return redirect
        }
        if let status = fields["status"], let code = reader.integer(status, at: "redirect.status", in: 100...599) {
            if allowedStatuses.contains(code) {
                redirect.status = code
            } else {
                reader.fail("redirect.status", "\(code) is not a redirect status; allowed: 301, 302, 303, 307, 308")
            }
        }
        return redirect
    }
}
