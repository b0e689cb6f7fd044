import GeoFrontCore
import GeoIP

/// `tls.redirect_http`: the `Location` that sends a plain-HTTP request to the same URL on the TLS
/// listener. The host is the request's own `Host` (without its port), checked to be a host name
/// (`HostPort.isHostName`) or an IP literal, so nothing else can be smuggled into the header; the
/// port is the TLS listener's bound port unless it is 443.
enum HTTPSRedirect {
    static func location(host: String?, target: String, httpsPort: Int) -> String? {
        guard let host, !host.isEmpty else { return nil }
        let name: Substring
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            name = host[...close]
            guard IPAddress(name.dropFirst().dropLast()) != nil else { return nil }
        } else {
            name = host.lastIndex(of: ":").map { host[..<$0] } ?? host[...]
            guard HostPort.isHostName(name) else { return nil }
        }
        let port = httpsPort == 443 ? "" : ":\(httpsPort)"
        return RedirectLocation.build(base: Array("https://\(name)\(port)".utf8), target: target)
    }
}
