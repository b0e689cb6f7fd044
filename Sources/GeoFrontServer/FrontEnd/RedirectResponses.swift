import GeoFrontCore

/// The redirects' pre-built responses for one snapshot, shared by the connections of an event
/// loop (``LoopState/redirectResponses(for:)``): as HTTP/1.1 bytes, and as the parts of an
/// HTTP/2 HEADERS frame (``H2ServerStream/writeBodilessHead(status:_:)``), with the same fields.
/// A class: each redirect takes one reference from the loop, not a copy of its six arrays.
final class RedirectResponses {
    /// Per region: `HTTP/1.1 302 Found\r\nLocation: <redirect_url>`.
    let prefix: [[UInt8]]
    /// Per region: the headers after `Location`, up to (not including) the final CRLF.
    let suffix: [[UInt8]]
    /// 503 when no region is available, with its body.
    let unavailable: [UInt8]
    /// HTTP/2's `:status`.
    let status: String
    /// Per region: the `redirect_url` the `location` starts with.
    let locationBase: [[UInt8]]
    /// Per region: the fields after `location` (``suffix``'s, lower-case).
    let fields: [[(name: String, value: String)]]

    init(snapshot: RoutingSnapshot) {
        let status = snapshot.config.redirect.status
        self.status = String(status)
        let statusLine = "HTTP/1.1 \(status) \(Self.reason(status))\r\nLocation: "
        prefix = snapshot.regions.map { Array(statusLine.utf8) + $0.redirectBase }
        locationBase = snapshot.regions.map(\.redirectBase)
        let fields = snapshot.regions.map { region in
            [("Cache-Control", "no-store"), ("X-GeoFront-Region", region.name), ("Content-Length", "0")]
        }
        suffix = fields.map { fields in Array(("\r\n" + fields.map { "\($0): \($1)\r\n" }.joined()).utf8) }
        self.fields = fields.map { fields in fields.map { (name: $0.lowercased(), value: $1) } }
        let body = "503 Service Unavailable: no region is available\n"
        unavailable = Array(
            ("HTTP/1.1 503 Service Unavailable\r\nRetry-After: \(snapshot.retryAfterSeconds)\r\nCache-Control: no-store\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n\r\n").utf8)
    }

    /// The `location` of a redirect to `region` for `path` (and query), as ``LocalAnswers`` writes
    /// it after ``prefix``.
    func location(region: Int, path: UnsafeRawBufferPointer) -> String {
        let base = locationBase[region]
        return String(unsafeUninitializedCapacity: base.count + 1 + path.count * 3) { out in
            var count = 0
            for byte in base {
                out[count] = byte
                count += 1
            }
            RedirectLocation.appendPath(path) { byte in
                out[count] = byte
                count += 1
            }
            return count
        }
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
