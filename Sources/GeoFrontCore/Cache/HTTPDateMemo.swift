/// The last IMF-fixdate (RFC 9110 §5.6.7) parsed and its value. An origin's `Date` stays the
/// same for a second, so a response's `Date` is most often the one the response before it had:
/// that one is 29 bytes compared instead of a date parsed. Other forms (and other lengths) are
/// parsed each time. Confined to one event loop (a class: the exchanges of a loop share one).
public final class HTTPDateMemo {
    /// The remembered text, 29 bytes in 32. Zeros at first, with no value: only 29 NUL bytes match
    /// that, and they are no date either.
    private var text: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var value: Int?

    public init() {}

    /// ``HTTPDate/parse(_:now:)`` of `bytes`, without `now` (the RFC 850 form's century is then
    /// fixed; the memo does not hold that form).
    public func parse(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count == 29, let base = bytes.baseAddress else { return HTTPDate.parse(bytes) }
        // The last 8 bytes overlap the third word's last 5: four loads cover all 29.
        let key = (
            base.loadUnaligned(as: UInt64.self), base.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            base.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
            base.loadUnaligned(fromByteOffset: 21, as: UInt64.self)
        )
        if key == text { return value }
        let parsed = HTTPDate.parse(bytes)
        text = key
        value = parsed
        return parsed
    }
}
