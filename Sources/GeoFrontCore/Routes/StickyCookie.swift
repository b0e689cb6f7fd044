/// The value of a sticky cookie GeoFront sets: 16 lower-case hex digits of a random number. The
/// backend is picked by the hash of the value's text, as for a cookie the client sends back, so
/// the first request and every later one land alike.
public enum StickyCookie {
    /// The cookie's value for `number`.
    @inline(__always)
    public static func withValue<Result>(_ number: UInt64, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let hex: StaticString = "0123456789abcdef"
        var digits: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &digits) { raw in
            for index in 0..<16 {
                raw[index] = hex.utf8Start[Int((number >> UInt64(60 - 4 * index)) & 0xf)]
            }
            return body(UnsafeRawBufferPointer(raw))
        }
    }

    /// The value as text (display, tests).
    public static func value(_ number: UInt64) -> String {
        withValue(number) { String(decoding: $0, as: UTF8.self) }
    }

    /// The sticky hash of the cookie with this value.
    @inline(__always)
    static func hash(ofValue number: UInt64) -> UInt64 {
        withValue(number) { StickyHash.of($0) }
    }
}
