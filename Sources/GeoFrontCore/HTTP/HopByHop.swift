/// RFC 9110 §7.6.1: the fields that describe one connection and are never forwarded. One list
/// for requests and responses alike, matched on bytes.
public enum HopByHop {
    /// The names, lower case.
    public static let names: [String] = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// Whether the field name at `name` in `bytes` is one of ``names`` (ASCII case-insensitive).
    @inline(__always)
    public static func contains(_ bytes: UnsafeRawBufferPointer, _ name: RequestHead.Span) -> Bool {
        switch name.count {
        case 2: return FieldLines.equals(bytes, name, "te")
        case 7: return FieldLines.equals(bytes, name, "upgrade") || FieldLines.equals(bytes, name, "trailer")
        case 10: return FieldLines.equals(bytes, name, "connection") || FieldLines.equals(bytes, name, "keep-alive")
        case 16: return FieldLines.equals(bytes, name, "proxy-connection")
        case 17: return FieldLines.equals(bytes, name, "transfer-encoding")
        default: return false
        }
    }

    /// Whether the field name at `name` is one the message's `Connection` field lists
    /// (`connectionNames`, as ``RequestHead`` and ``ResponseHead`` record them).
    @inline(__always)
    public static func isNamed(
        _ bytes: UnsafeRawBufferPointer, _ name: RequestHead.Span, in connectionNames: [RequestHead.Span]
    ) -> Bool {
        !connectionNames.isEmpty && connectionNames.contains { FieldLines.sameName(bytes, $0, name) }
    }
}
