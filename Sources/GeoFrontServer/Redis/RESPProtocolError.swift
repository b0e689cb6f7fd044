/// Bytes from Redis that are not RESP2, or more than the decoder's bounds allow. The connection
/// cannot be trusted after one: it is closed.
struct RESPProtocolError: Error, Hashable, CustomStringConvertible {
    let reason: String

    init(_ reason: String) {
        self.reason = reason
    }

    var description: String { "RESP protocol error: \(reason)" }
}
