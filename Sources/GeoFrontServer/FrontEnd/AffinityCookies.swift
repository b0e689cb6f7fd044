import GeoFrontCore

/// `affinity` on the request path: the client's cookie may keep it in its region (the decision
/// is changed in place), and the response may have to set the cookie. Called only when the
/// snapshot has `affinity`; reads the cookie in place and returns a pre-built line: no allocation.
enum AffinityCookies {
    /// Applies the request's cookie to `decision`; the `Set-Cookie` line (with `Secure` on the
    /// TLS listener) the response carries, or nil.
    @inline(__always)
    static func apply(
        _ snapshot: RoutingSnapshot, _ decision: inout RoutingDecision, _ head: RequestHead,
        _ bytes: UnsafeRawBufferPointer, secure: Bool
    ) -> [UInt8]? {
        guard let table = snapshot.affinity,
            let region = snapshot.applyAffinity(
                to: &decision, request: RouteRequest(head: head, bytes: bytes), in: bytes)?.setCookie
        else { return nil }
        return table.setCookieLine(region: region, secure: secure)
    }
}
