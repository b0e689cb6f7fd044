import GeoFrontCore

/// `tls.redirect_http`: the `Location` that sends a plain-HTTP request to the same URL on the TLS
/// listener. The host is the request's own `Host` (without its port), checked to be a plain host
/// name or IP literal, so nothing else can be smuggled into the header; the port is the TLS
/// listener's bound port unless it is 443.
enum HTTPSRedirect {
    static func location(host: String?, target: String, httpsPort: Int) -> String? {
        guard var host, !host.isEmpty else { return nil }
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            host = String(host[...close])
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        guard !bare.isEmpty,
            bare.utf8.allSatisfy({ byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
            })
        else { return nil }
        let port = httpsPort == 443 ? "" : ":\(httpsPort)"
        return RedirectLocation.build(base: Array("https://\(host)\(port)".utf8), target: target)
    }
}
