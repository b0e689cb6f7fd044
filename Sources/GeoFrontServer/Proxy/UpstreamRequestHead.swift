import GeoFrontCore
import GeoIP
import NIOCore

/// The request an upstream sees, written on bytes: the client's field lines in order, minus the
/// hop-by-hop ones (RFC 9110 §7.6.1, and those its `Connection` names) and those rebuilt here:
///
/// - `X-Forwarded-For` gets the peer appended and `Forwarded` gets `for=…;host=…;proto=…`
///   appended; when the peer is not a trusted proxy, the client's own copies are replaced, not
///   extended, so origins never see a forged chain.
/// - `X-Forwarded-Proto` and `X-Forwarded-Host` are set (kept from a trusted proxy).
/// - `Via` gets `1.1 geofront` (RFC 9110 §7.6.3); `Host` follows `proxy.host_header`.
/// - A route's `request_headers` edits apply to the client's own fields (forwarding headers, `Host`
///   and `Via` are GeoFront's and stay as described here).
/// - An upgrade keeps `Connection: Upgrade` and `Upgrade`; a chunked body stays chunked; the
///   request line is HTTP/1.1 with an origin-form target.
///
/// The one place forwarding headers are made. One per client connection (it reuses its scratch).
struct UpstreamRequestHead {
    /// The peer's `X-Forwarded-For` text and `Forwarded` `for=` value.
    private var peerText: [UInt8] = []
    private var peerNode: [UInt8] = []
    /// `https` on the TLS listener.
    private let secure: Bool
    /// Reused between requests: the request's `Via` values.
    private var via: [RequestHead.Span] = []
    /// The last head written still needs `Host` and its final CRLF.
    private(set) var needsHost = false
    /// The last head written asks for an upgrade (`Connection: upgrade` and a non-empty `Upgrade`).
    private(set) var upgrade = false

    init(secure: Bool) {
        self.secure = secure
    }

    /// The client's address (the connection's, or a PROXY header's).
    mutating func setPeer(_ address: IPAddress) {
        let text = address.description
        peerText = Array(text.utf8)
        peerNode = address.family == .v6 ? Array("\"[\(text)]\"".utf8) : peerText
    }

    /// Writes the upstream's request head for the request `head` in `bytes`, to go to a path
    /// (`path`, the target's path and query). When ``needsHost`` is set afterwards, the head still
    /// lacks `Host` (the upstream's address) and its final CRLF: ``finish(_:upstream:)`` adds them.
    mutating func write(
        _ bytes: UnsafeRawBufferPointer, head: RequestHead, method: UnsafeRawBufferPointer,
        path: UnsafeRawBufferPointer, trusted: Bool, hostPolicy: HostHeaderPolicy, edits: HeaderEditBytes? = nil,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var fixedHostCount = 0
        if case .fixed(let value) = hostPolicy { fixedHostCount = value.utf8.count }
        // Everything written comes from the head's bytes, the target, the edits, the peer and
        // GeoFront's own text. No part of the head comes out more than three times (the client's
        // `Host` value: `Forwarded` `host=`, `X-Forwarded-Host`, `Host`; a list item with its
        // separator at most twice).
        let bound =
            3 * head.length + method.count + path.count + 320 + (edits?.lines.count ?? 0) + peerText.count
            + peerNode.count + fixedHostCount
        var out = allocator.buffer(capacity: bound)
        // One write into the buffer (``RawHeadWriter``), not one per piece.
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { buffer in
            var out = RawHeadWriter(buffer)
            writeLines(
                bytes, head: head, method: method, path: path, trusted: trusted, hostPolicy: hostPolicy,
                edits: edits, into: &out)
            return out.count
        }
        return out
    }

    private mutating func writeLines(
        _ bytes: UnsafeRawBufferPointer, head: RequestHead, method: UnsafeRawBufferPointer,
        path: UnsafeRawBufferPointer, trusted: Bool, hostPolicy: HostHeaderPolicy, edits: HeaderEditBytes?,
        into out: inout RawHeadWriter
    ) {
        out.append(method)
        out.append(" ")
        if path.first != UInt8(ascii: "/") { out.append("/") }
        out.append(path)
        out.append(" HTTP/1.1\r\n")
        var index = head.target.start + head.target.count + 11  // " HTTP/1.x\r\n"
        var host: RequestHead.Span?
        var keptProto = false
        var keptHost = false
        var upgradeValue: RequestHead.Span?
        let asksUpgrade = head.connectionNames.contains { FieldLines.equals(bytes, $0, "upgrade") }
        via.removeAll(keepingCapacity: true)
        var kept = KeptLineRun(at: index)
        while let field = try? FieldLines.next(bytes, at: &index, end: head.length) {
            let name = field.name
            var copy = !HopByHop.contains(bytes, name)
            switch name.count {
            case 3:
                if FieldLines.equals(bytes, name, "via") {
                    via.append(field.value)
                    copy = false
                }
            case 7:
                if asksUpgrade, FieldLines.equals(bytes, name, "upgrade"), field.value.count > 0 {
                    upgradeValue = field.value
                }
            case 4:
                if FieldLines.equals(bytes, name, "host") {
                    host = field.value
                    copy = false
                }
            case 9: copy = !FieldLines.equals(bytes, name, "forwarded")
            case 15: copy = !FieldLines.equals(bytes, name, "x-forwarded-for")
            case 16:
                if FieldLines.equals(bytes, name, "x-forwarded-host") {
                    copy = trusted
                    keptHost = trusted
                }
            case 17:
                if FieldLines.equals(bytes, name, "x-forwarded-proto") {
                    copy = trusted
                    keptProto = trusted
                }
            default: break
            }
            if copy, HopByHop.isNamed(bytes, name, in: head.connectionNames) { copy = false }
            if copy, let edits, edits.drops(bytes, name) { copy = false }
            // Kept lines that follow each other are copied together.
            if copy, let ended = kept.keep(field.line) { out.append(UnsafeRawBufferPointer(rebasing: bytes[ended])) }
        }
        if let last = kept.last { out.append(UnsafeRawBufferPointer(rebasing: bytes[last])) }
        if let edits { out.append(edits.lines) }
        // An upgrade (WebSocket) is asked of the origin itself: it keeps its two fields. A chunked
        // body goes on chunked, as it came.
        upgrade = upgradeValue != nil
        if let upgradeValue {
            out.append("Connection: Upgrade\r\nUpgrade: ")
            out.append(upgradeValue.bytes(in: bytes))
            out.append("\r\n")
        }
        if head.body == .chunked { out.append("Transfer-Encoding: chunked\r\n") }
        // X-Forwarded-For and Forwarded: the trusted chain extended, else only the peer.
        out.append("X-Forwarded-For: ")
        let firstForwardedFor = head.forwardedFor.first
        if trusted, let firstForwardedFor, firstForwardedFor.count > 0 {
            for (offset, value) in head.forwardedFor.enumerated() {
                if offset > 0 { out.append(", ") }
                out.append(value.bytes(in: bytes))
            }
            out.append(", ")
        }
        out.append(peerText)
        out.append("\r\nForwarded: ")
        if trusted, !head.forwarded.isEmpty {
            for value in head.forwarded {
                out.append(value.bytes(in: bytes))
                out.append(", ")
            }
        }
        out.append("for=")
        out.append(peerNode)
        if let host, host.count > 0 {
            let value = host.bytes(in: bytes)
            if !value.contains(UInt8(ascii: "\"")) && !value.contains(UInt8(ascii: "\\")) {
                out.append(";host=")
                if value.allSatisfy(Self.isForwardedTokenByte) {
                    out.append(value)
                } else {
                    out.append("\"")
                    out.append(value)
                    out.append("\"")
                }
            }
        }
        out.append(secure ? ";proto=https\r\n" : ";proto=http\r\n")
        if !keptProto { out.append(secure ? "X-Forwarded-Proto: https\r\n" : "X-Forwarded-Proto: http\r\n") }
        if !keptHost, let host {
            out.append("X-Forwarded-Host: ")
            out.append(host.bytes(in: bytes))
            out.append("\r\n")
        }
        out.append("Via: ")
        for value in via {
            out.append(value.bytes(in: bytes))
            out.append(", ")
        }
        out.append("1.1 geofront\r\n")
        needsHost = false
        switch hostPolicy {
        case .client:
            if let host {
                out.append("Host: ")
                out.append(host.bytes(in: bytes))
                out.append("\r\n\r\n")
            } else {
                needsHost = true
            }
        case .upstream:
            needsHost = true
        case .fixed(let value):
            out.append("Host: ")
            out.append(text: value)
            out.append("\r\n\r\n")
        }
    }

    /// `Host: <upstream>` and the head's end, when ``needsHost``.
    static func hostLine(_ upstream: UpstreamConfig, allocator: ByteBufferAllocator) -> ByteBuffer {
        var host = allocator.buffer(capacity: 64)
        host.writeStaticString("Host: ")
        host.writeString(upstream.address.description)
        host.writeStaticString("\r\n\r\n")
        return host
    }

    /// Characters a `Forwarded` `host=` value may carry unquoted.
    private static func isForwardedTokenByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: ".")
    }
}
