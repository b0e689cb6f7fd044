import GeoFrontCore
import GeoIP

/// X-Forwarded-For / Forwarded values, IP text and PROXY protocol headers: any bytes give an
/// answer (an address, the peer, or "malformed"), never a crash; whatever address comes back
/// round-trips through its text form; a complete PROXY header lies inside the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzForwarding(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    if let address = IPAddress(utf8: bytes) {
        precondition(IPAddress(address.description) == address)
    }
    let resolver = ClientIPResolver(trustedProxies: [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!])
    let span = RequestHead.Span(start: 0, count: count)
    let peer = IPAddress("127.0.0.1")!
    _ = resolver.resolve(peer: peer, xForwardedFor: [span], forwarded: [], in: bytes)
    _ = resolver.resolve(peer: peer, xForwardedFor: [], forwarded: [span], in: bytes)
    _ = RedirectLocation.pathAndQuery(of: bytes)
    do throws(ProxyProtocolParser.Malformed) {
        if case .complete(let consumed, _) = try ProxyProtocolParser.parse(bytes) { precondition(consumed <= count) }
    } catch {}
    return 0
}
