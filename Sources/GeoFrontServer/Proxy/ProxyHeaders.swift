import GeoFrontCore
import GeoIP
import NIOCore
import NIOHTTP1

/// Header rewriting for proxy mode (RFC 9110 §7.6.1 hop-by-hop headers, RFC 7239 `Forwarded`).
enum ProxyHeaders {
    /// Headers that describe one connection, never forwarded.
    static let hopByHop = Set(HopByHop.names)

    /// Removes hop-by-hop headers and every header the `Connection` header names.
    static func removeHopByHop(_ headers: inout HTTPHeaders) {
        var named = hopByHop
        for value in headers[canonicalForm: "connection"] {
            named.insert(value.lowercased())
        }
        headers.remove { named.contains($0.name.lowercased()) }
    }

    /// The request the upstream sees.
    ///
    /// - Hop-by-hop headers are dropped; a chunked body stays chunked (re-framed).
    /// - `X-Forwarded-For` gets the TCP peer appended, `Forwarded` gets `for=…;host=…;proto=…`
    ///   appended; when the peer is not a trusted proxy, the client's own copies are replaced rather
    ///   than extended, so origins never see a forged chain.
    /// - `X-Forwarded-Proto` and `X-Forwarded-Host` are set.
    /// - `Host` follows `host_header`.
    static func upstreamRequest(
        _ request: HTTPRequestHead, peer: IPAddress, peerTrusted: Bool, scheme: String, upstream: UpstreamConfig,
        hostPolicy: HostHeaderPolicy
    ) -> HTTPRequestHead {
        var headers = request.headers
        let wasChunked = headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased() == "chunked" }
        let upgrade = upgradeProtocol(of: request)
        removeHopByHop(&headers)
        if let upgrade {
            // An upgrade (WebSocket) is asked of the origin itself: it keeps its two headers.
            headers.add(name: "Connection", value: "Upgrade")
            headers.add(name: "Upgrade", value: upgrade)
        }
        if wasChunked && !headers.contains(name: "content-length") {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        }
        let originalHost = request.headers.first(name: "host")

        let peerText = peer.description
        if peerTrusted, let existing = headers.first(name: "x-forwarded-for") {
            let chain = headers["x-forwarded-for"].joined(separator: ", ")
            headers.replaceOrAdd(name: "X-Forwarded-For", value: existing.isEmpty ? peerText : chain + ", " + peerText)
        } else {
            headers.replaceOrAdd(name: "X-Forwarded-For", value: peerText)
        }
        var element = "for=" + (peer.family == .v6 ? "\"[\(peerText)]\"" : peerText)
        if let originalHost, !originalHost.isEmpty,
            !originalHost.utf8.contains(UInt8(ascii: "\"")), !originalHost.utf8.contains(UInt8(ascii: "\\"))
        {
            element += ";host=" + (isToken(originalHost) ? originalHost : "\"\(originalHost)\"")
        }
        element += ";proto=" + scheme
        if peerTrusted, headers.contains(name: "forwarded") {
            let chain = headers["forwarded"].joined(separator: ", ")
            headers.replaceOrAdd(name: "Forwarded", value: chain + ", " + element)
        } else {
            headers.replaceOrAdd(name: "Forwarded", value: element)
        }
        // A trusted proxy in front (a TLS terminator) knows the original scheme and host better.
        if !(peerTrusted && headers.contains(name: "x-forwarded-proto")) {
            headers.replaceOrAdd(name: "X-Forwarded-Proto", value: scheme)
        }
        if !(peerTrusted && headers.contains(name: "x-forwarded-host")) {
            if let originalHost {
                headers.replaceOrAdd(name: "X-Forwarded-Host", value: originalHost)
            } else {
                headers.remove(name: "x-forwarded-host")
            }
        }
        // RFC 9110 §7.6.3: a gateway says it is one.
        let via = headers[canonicalForm: "via"].joined(separator: ", ")
        headers.replaceOrAdd(name: "Via", value: via.isEmpty ? "1.1 geofront" : via + ", 1.1 geofront")
        switch hostPolicy {
        case .client:
            if originalHost == nil { headers.replaceOrAdd(name: "Host", value: upstream.address.description) }
        case .upstream:
            headers.replaceOrAdd(name: "Host", value: upstream.address.description)
        case .fixed(let value):
            headers.replaceOrAdd(name: "Host", value: value)
        }
        return HTTPRequestHead(
            version: .http1_1, method: request.method, uri: originForm(request.uri), headers: headers)
    }

    /// Origin servers get origin-form targets: an absolute-form target loses its scheme and host.
    static func originForm(_ target: String) -> String {
        guard !target.hasPrefix("/") else { return target }
        var copy = target
        let path = copy.withUTF8 { utf8 -> String? in
            RedirectLocation.pathAndQuery(of: UnsafeRawBufferPointer(utf8)).map { String(decoding: $0, as: UTF8.self) }
        }
        guard let path else { return target }
        return path.isEmpty ? "/" : (path.hasPrefix("/") ? path : "/" + path)
    }

    /// The `Upgrade` value of a request that asks for one (`Connection: upgrade` and `Upgrade`).
    static func upgradeProtocol(of request: HTTPRequestHead) -> String? {
        guard let value = request.headers.first(name: "upgrade"), !value.isEmpty,
            request.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "upgrade" })
        else { return nil }
        return value
    }

    /// The response the client sees: hop-by-hop and configured headers removed, the region added.
    /// A `101 Switching Protocols` keeps `Connection: Upgrade` and `Upgrade`.
    static func clientResponse(_ response: HTTPResponseHead, region: String, strip: [String]) -> HTTPResponseHead {
        var headers = response.headers
        let upgrade = response.status == .switchingProtocols ? response.headers.first(name: "upgrade") : nil
        removeHopByHop(&headers)
        if let upgrade {
            headers.add(name: "Connection", value: "Upgrade")
            headers.add(name: "Upgrade", value: upgrade)
        }
        if !strip.isEmpty {
            headers.remove { strip.contains($0.name.lowercased()) }
        }
        headers.replaceOrAdd(name: "X-GeoFront-Region", value: region)
        return HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
    }

    /// A `Forwarded` token: safe to append unquoted.
    private static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: ".")
            }
    }
}

extension HTTPResponseHead {
    /// The head as HTTP/1.1 bytes, for writing after the HTTP encoder is gone (upgrades).
    var serialized: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n")
        for (name, value) in headers {
            buffer.writeString("\(name): \(value)\r\n")
        }
        buffer.writeString("\r\n")
        return buffer
    }
}

extension HTTPHeaders {
    fileprivate mutating func remove(where shouldRemove: ((name: String, value: String)) -> Bool) {
        let kept = self.filter { !shouldRemove($0) }
        self = HTTPHeaders(kept.map { ($0.name, $0.value) })
    }
}

extension HTTPMethod {
    /// RFC 9110 §9.2.2: safe to repeat.
    var isIdempotent: Bool {
        switch self {
        case .GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE: return true
        default: return false
        }
    }
}
