/// Why a Redis request has no reply (or no usable one).
enum RedisFailure: Error, Hashable {
    /// No reply within the request's timeout (it may still come, and is then dropped).
    case timeout
    /// The connection closed, failed, or was never up.
    case connectionLost
    /// Redis answered with an error (`-ERR …`, `-OOM …`) or something the caller cannot use.
    case badReply
}
