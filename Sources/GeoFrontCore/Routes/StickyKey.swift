/// A route's `sticky`: what keeps a client on one backend.
public enum StickyKey: Sendable, Hashable {
    /// `{"cookie": NAME, "max_age_s": N}`: the cookie's value; a client without it is split by
    /// weight and then given the cookie (`Max-Age` when `maxAgeSeconds` is set).
    case cookie(name: String, maxAgeSeconds: Int?)
    /// `{"header": NAME}` (lower case): the first value of that request header.
    case header(name: String)
    /// `{"client_ip": true}`: the client address the decision uses.
    case clientIP
}
