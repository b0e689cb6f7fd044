/// Builds the `Location` of a redirect: the region's `redirect_url` (scheme, host and path prefix,
/// always from config, so a request can never redirect elsewhere) followed by the request's path
/// and query exactly as received. Bytes that may not appear in a header value (controls, space,
/// DEL, non-ASCII) are percent-encoded, so CR/LF can never reach the response head.
public enum RedirectLocation {
    /// The path-and-query part of a request target: origin-form as is, the path of an
    /// absolute-form target, `/` for `*`. Nil for anything else (the request gets 400).
    public static func pathAndQuery(of target: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let first = target.first else { return nil }
        if first == UInt8(ascii: "/") { return target }
        if target.count == 1 && first == UInt8(ascii: "*") { return UnsafeRawBufferPointer(rebasing: target[0..<0]) }
        // absolute-form: scheme "://" authority [path-abempty] ["?" query]
        var index = 0
        while index < target.count, isSchemeByte(target[index]) { index += 1 }
        guard index > 0, index + 3 <= target.count, target[index] == UInt8(ascii: ":"),
            target[index + 1] == UInt8(ascii: "/"), target[index + 2] == UInt8(ascii: "/")
        else { return nil }
        index += 3
        while index < target.count, target[index] != UInt8(ascii: "/"), target[index] != UInt8(ascii: "?") {
            index += 1
        }
        return UnsafeRawBufferPointer(rebasing: target[index...])
    }

    /// Whether a byte can be copied into a header value unchanged.
    @inline(__always)
    public static func isSafe(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7f
    }

    /// Appends `bytes` with unsafe bytes percent-encoded (`%0D`, `%20`, …).
    @inline(__always)
    public static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to output: (UInt8) -> Void) {
        let hex: StaticString = "0123456789ABCDEF"
        for byte in bytes {
            if isSafe(byte) {
                output(byte)
            } else {
                output(UInt8(ascii: "%"))
                output(hex.utf8Start[Int(byte >> 4)])
                output(hex.utf8Start[Int(byte & 0x0f)])
            }
        }
    }

    /// Appends a redirect's path after its base: `/` first when `path` does not start with one
    /// (the empty path of `*`), then `path` with unsafe bytes percent-encoded.
    @inline(__always)
    public static func appendPath(_ path: UnsafeRawBufferPointer, to output: (UInt8) -> Void) {
        if path.first != UInt8(ascii: "/") { output(UInt8(ascii: "/")) }
        appendEscaped(path, to: output)
    }

    /// The whole `Location` value for `target`, or nil when the target has no usable path.
    public static func build(base: [UInt8], target: String) -> String? {
        var target = target
        return target.withUTF8 { utf8 -> String? in
            guard let path = pathAndQuery(of: UnsafeRawBufferPointer(utf8)) else { return nil }
            var output = base
            appendPath(path) { output.append($0) }
            return String(decoding: output, as: UTF8.self)
        }
    }

    @inline(__always)
    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }
}
