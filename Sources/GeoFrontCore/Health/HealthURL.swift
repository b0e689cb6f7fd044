import GeoIP

/// A region's health `url`: `http://host[:port]/path` or `https://host[:port]/path`. The probe
/// connects to host:port (port 80, or 443 for https), asks for the path and sends the URL's host
/// as `Host`; with https it speaks TLS, with the URL's host as SNI and certificate name (none for
/// an IP address, which the certificate must then carry).
enum HealthURL {
    static func parse(_ text: String) -> Result<HealthTarget, HostPortError> {
        let tls: Bool
        if text.lowercased().hasPrefix("http://") {
            tls = false
        } else if text.lowercased().hasPrefix("https://") {
            tls = true
        } else {
            return .failure(
                HostPortError("must be an http:// or https:// URL, e.g. http://10.0.0.5:8080/healthz"))
        }
        let rest = text.dropFirst(tls ? "https://".count : "http://".count)
        guard rest.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }), !rest.contains("@"), !rest.contains("#") else {
            return .failure(HostPortError("contains a space, control character, user info or fragment"))
        }
        let authority = String(rest.prefix { $0 != "/" && $0 != "?" })
        var path = String(rest.dropFirst(authority.count))
        if path.isEmpty { path = "/" }
        if path.hasPrefix("?") { path = "/" + path }
        let defaultPort = tls ? ":443" : ":80"
        let withPort: String
        if authority.hasPrefix("[") {
            withPort = authority.contains("]:") ? authority : authority + defaultPort
        } else {
            withPort = authority.contains(":") ? authority : authority + defaultPort
        }
        switch HostPort.parse(withPort, allowZeroPort: false) {
        case .success(let address):
            let serverName = tls && IPAddress(address.host) == nil ? address.host : nil
            return .success(
                HealthTarget(address: address, path: path, hostHeader: authority, tls: tls, serverName: serverName))
        case .failure(let error):
            return .failure(HostPortError("bad host: \(error.reason)"))
        }
    }
}
