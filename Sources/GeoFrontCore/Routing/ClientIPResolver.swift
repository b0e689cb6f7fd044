import GeoIP

/// Which address a request is routed by, and where it came from.
public struct ClientIP: Sendable, Hashable {
    public enum Source: String, Sendable {
        /// The TCP peer (no trusted proxy in front, or no usable header).
        case peer
        /// `X-Forwarded-For`, read right to left past trusted proxies.
        case xForwardedFor = "x-forwarded-for"
        /// RFC 7239 `Forwarded: for=`.
        case forwarded
    }

    public let address: IPAddress
    public let source: Source

    public init(address: IPAddress, source: Source) {
        self.address = address
        self.source = source
    }
}

/// Works out the real client address.
///
/// Only when the socket peer is inside `trusted_proxies` are forwarding headers read: each
/// `X-Forwarded-For` entry from the right (the hop closest to us) is skipped while it is a trusted
/// proxy, and the first untrusted address is the client. If every entry is trusted, the leftmost
/// one is. `Forwarded: for=` is read the same way when there is no `X-Forwarded-For`. A malformed
/// entry (garbage, `unknown`, an obfuscated identifier) stops the walk and the peer is used, so
/// a bad header can never turn into an error or a spoofed location.
public struct ClientIPResolver: Sendable {
    public let trustedProxies: [IPNetwork]

    public init(trustedProxies: [IPNetwork]) {
        self.trustedProxies = trustedProxies
    }

    @inline(__always)
    public func isTrusted(_ address: IPAddress) -> Bool {
        for network in trustedProxies where network.contains(address) { return true }
        return false
    }

    /// - Parameters:
    ///   - peer: the TCP peer address.
    ///   - xForwardedFor: every `X-Forwarded-For` field value, in the order received.
    ///   - forwarded: every `Forwarded` field value, in the order received.
    public func resolve<XFF: BidirectionalCollection, FWD: BidirectionalCollection>(
        peer: IPAddress, xForwardedFor: XFF, forwarded: FWD
    ) -> ClientIP where XFF.Element: StringProtocol, FWD.Element: StringProtocol {
        let peer = peer.unmapped
        guard !trustedProxies.isEmpty, isTrusted(peer) else { return ClientIP(address: peer, source: .peer) }
        if !xForwardedFor.isEmpty {
            return walk(
                xForwardedFor, source: .xForwardedFor, peer: peer, element: ForwardingHeaders.xForwardedForAddress)
        }
        if !forwarded.isEmpty {
            return walk(forwarded, source: .forwarded, peer: peer, element: ForwardingHeaders.forwardedForAddress)
        }
        return ClientIP(address: peer, source: .peer)
    }

    /// The same, for header values given as byte ranges of `bytes` (``RequestHeadParser``'s output).
    public func resolve(
        peer: IPAddress, xForwardedFor: [RequestHead.Span], forwarded: [RequestHead.Span],
        in bytes: UnsafeRawBufferPointer
    ) -> ClientIP {
        let peer = peer.unmapped
        guard !trustedProxies.isEmpty, isTrusted(peer) else { return ClientIP(address: peer, source: .peer) }
        let (spans, source, parse):
            ([RequestHead.Span], ClientIP.Source, (UnsafeRawBufferPointer) -> ForwardingHeaders.Element)
        if !xForwardedFor.isEmpty {
            (spans, source, parse) = (xForwardedFor, .xForwardedFor, ForwardingHeaders.xForwardedForAddress)
        } else if !forwarded.isEmpty {
            (spans, source, parse) = (forwarded, .forwarded, ForwardingHeaders.forwardedForAddress)
        } else {
            return ClientIP(address: peer, source: .peer)
        }
        var leftmostTrusted: IPAddress?
        for span in spans.reversed() {
            let value = UnsafeRawBufferPointer(rebasing: bytes[span.start..<(span.start + span.count)])
            switch walkValue(value, parse: parse, leftmostTrusted: &leftmostTrusted) {
            case .none: return ClientIP(address: peer, source: .peer)
            case .some(.some(let address)): return ClientIP(address: address, source: source)
            case .some(.none): continue
            }
        }
        if let leftmostTrusted { return ClientIP(address: leftmostTrusted, source: source) }
        return ClientIP(address: peer, source: .peer)
    }

    private func walk<Values: BidirectionalCollection>(
        _ values: Values, source: ClientIP.Source, peer: IPAddress,
        element parse: (UnsafeRawBufferPointer) -> ForwardingHeaders.Element
    ) -> ClientIP where Values.Element: StringProtocol {
        var leftmostTrusted: IPAddress?
        for value in values.reversed() {
            var text = String(value)
            let outcome = text.withUTF8 { utf8 in
                walkValue(UnsafeRawBufferPointer(utf8), parse: parse, leftmostTrusted: &leftmostTrusted)
            }
            switch outcome {
            case .none: return ClientIP(address: peer, source: .peer)
            case .some(.some(let address)): return ClientIP(address: address, source: source)
            case .some(.none): continue
            }
        }
        if let leftmostTrusted { return ClientIP(address: leftmostTrusted, source: source) }
        return ClientIP(address: peer, source: .peer)
    }

    /// One header value, right to left: `.none` when malformed (use the peer), `.some(address)`
    /// for the first untrusted address, `.some(nil)` when every element was trusted or empty.
    private func walkValue(
        _ value: UnsafeRawBufferPointer, parse: (UnsafeRawBufferPointer) -> ForwardingHeaders.Element,
        leftmostTrusted: inout IPAddress?
    ) -> IPAddress?? {
        var found: IPAddress?? = .some(nil)
        var trusted = leftmostTrusted
        ForwardingHeaders.forEachElementReversed(value) { bytes in
            switch parse(bytes) {
            case .empty:
                return true
            case .malformed:
                found = .none
                return false
            case .address(let address):
                let address = address.unmapped
                if isTrusted(address) {
                    trusted = address
                    return true
                }
                found = .some(address)
                return false
            }
        }
        leftmostTrusted = trusted
        return found
    }
}
