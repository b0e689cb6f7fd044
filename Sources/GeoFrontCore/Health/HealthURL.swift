/// A region's health `url`: `http://host[:port]/path`. The probe connects to host:port, asks for
/// the path and sends the URL's host as `Host`.
enum HealthURL {
    static func parse(_ text: String) -> Result<HealthTarget, HostPortError> {
        guard text.lowercased().hasPrefix("http://") else {
            if text.lowercased().hasPrefix("https://") {
                return .failure(
                    HostPortError("uses https, which health checks do not speak yet; use http:// or a tcp check"))
            }
            return .failure(HostPortError("must be an http:// URL, e.g. http://10.0.0.5:8080/healthz"))
        }
        let rest = text.dropFirst("http://".count)
        guard rest.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }), !rest.contains("@"), !rest.contains("#") else {
            return .failure(HostPortError("contains a space, control character, user info or fragment"))
        }
        let authority = String(rest.prefix { $0 != "/" && $0 != "?" })
        var path = String(rest.dropFirst(authority.count))
        if path.isEmpty { path = "/" }
        if path.hasPrefix("?") { path = "/" + path }
        let withPort: String
        if authority.hasPrefix("[") {
            withPort = authority.contains("]:") ? authority : authority + ":80"
        } else {
            withPort = authority.contains(":") ? authority : authority + ":80"
        }
        switch HostPort.parse(withPort, allowZeroPort: false) {
        case .success(let address):
            return .success(HealthTarget(address: address, path: path, hostHeader: authority))
        case .failure(let error):
            return .failure(HostPortError("bad host: \(error.reason)"))
        }
    }
}
