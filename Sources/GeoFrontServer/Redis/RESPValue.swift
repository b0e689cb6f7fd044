import NIOCore

/// One RESP2 value: what Redis answers, and (an array of bulk strings) what it is sent.
enum RESPValue: Sendable, Hashable {
    /// `+OK\r\n`
    case simpleString(String)
    /// `-ERR message\r\n`: a reply, not a failure of the connection.
    case error(String)
    /// `:42\r\n`
    case integer(Int64)
    /// `$3\r\nabc\r\n`; `$-1\r\n` is nil.
    case bulkString(ByteBuffer?)
    /// `*2\r\n…`; `*-1\r\n` is nil.
    case array([RESPValue]?)

    /// A command: its words as bulk strings.
    static func command(_ words: [String]) -> RESPValue {
        .array(words.map { .bulkString(ByteBuffer(string: $0)) })
    }

    /// The text of a simple or bulk string.
    var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes?): return String(buffer: bytes)
        default: return nil
        }
    }
}
