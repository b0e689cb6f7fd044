import GeoFrontCore

/// The redirects' pre-built response bytes for one snapshot, shared by the
/// connections of an event loop (``LoopState/redirectResponses(for:)``).
struct RedirectResponses {
    /// Per region: `HTTP/1.1 302 Found\r\nLocation: <redirect_url>`.
    let prefix: [[UInt8]]
    /// Per region: the headers after `Location`, up to (not including) the final CRLF.
    let suffix: [[UInt8]]
    /// 503 when no region is available, with its body.
    let unavailable: [UInt8]

    init(snapshot: RoutingSnapshot) {
        let status = snapshot.config.redirect.status
        let statusLine = "HTTP/1.1 \(status) \(Self.reason(status))\r\nLocation: "
        prefix = snapshot.regions.map { Array(statusLine.utf8) + $0.redirectBase }
        suffix = snapshot.regions.map { region in
            Array("\r\nCache-Control: no-store\r\nX-GeoFront-Region: \(region.name)\r\nContent-Length: 0\r\n".utf8)
        }
        let body = "503 Service Unavailable: no region is available\n"
        unavailable = Array(
            ("HTTP/1.1 503 Service Unavailable\r\nRetry-After: \(snapshot.retryAfterSeconds)\r\nCache-Control: no-store\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n\r\n").utf8)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        default: return "Redirect"
        }
    }
}
