import GeoFrontCore
import Testing

/// The memo answers exactly what ``HTTPDate/parse(_:now:)`` would, whether the text repeats,
/// changes by one byte (in each of its 29 places), is invalid, or is another form.
@Suite struct HTTPDateMemoTests {
    @Test func theMemoAgreesWithTheParser() {
        let base = "Sat, 05 Dec 2026 21:43:20 GMT"
        var texts = [base, base, "Sat, 05 Dec 2026 21:43:21 GMT", base, "Sat, 05 Dec 2026 21:43:2X GMT", base]
        texts += ["Sun Nov  6 08:49:37 1994", "Sunday, 06-Nov-94 08:49:37 GMT", "", base]
        // Each byte changed in turn: a memo comparing fewer than all 29 bytes would answer the old value.
        for index in 0..<29 {
            var bytes = Array(base.utf8)
            bytes[index] = bytes[index] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
            texts += [String(decoding: bytes, as: UTF8.self), base]
        }
        // 29 NUL bytes first: the memo's empty state must not answer for them as for a date.
        texts.insert(String(repeating: "\u{0}", count: 29), at: 0)
        let memo = HTTPDateMemo()
        for text in texts {
            let bytes = Array(text.utf8)
            let memoised = bytes.withUnsafeBytes { memo.parse($0) }
            #expect(memoised == HTTPDate.parse(bytes), "\(text)")
        }
    }
}
