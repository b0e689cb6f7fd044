/// An entity tag (RFC 9110 §8.8.3): `"xyzzy"` or, weak, `W/"xyzzy"`, with the two comparison
/// functions of §8.8.3.2. The opaque tag is kept with its quotes.
public struct EntityTag: Sendable, Hashable {
    /// The `W/` prefix was given.
    public var isWeak: Bool
    /// The opaque tag, quotes included: `"xyzzy"`.
    public var opaque: String

    public init(opaque: String, isWeak: Bool = false) {
        self.opaque = opaque
        self.isWeak = isWeak
    }

    /// One entity tag (surrounding spaces and tabs ignored), or nil when `text` is not one: the weak
    /// prefix is case-sensitive `W/`; between the quotes only `%x21 / %x23-7E / obs-text`.
    public init?(_ text: some StringProtocol) {
        var bytes = Substring(text).utf8[...]
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes = bytes.dropLast() }
        var weak = false
        if bytes.starts(with: "W/".utf8) {
            weak = true
            bytes = bytes.dropFirst(2)
        }
        guard bytes.count >= 2, bytes.first == 0x22, bytes.last == 0x22,
            bytes.dropFirst().dropLast().allSatisfy({ $0 == 0x21 || ($0 >= 0x23 && $0 != 0x7f) })
        else { return nil }
        isWeak = weak
        opaque = String(decoding: bytes, as: UTF8.self)
    }

    /// §8.8.3.2 strong comparison: neither is weak and the opaque tags are identical.
    public func strongMatches(_ other: EntityTag) -> Bool {
        !isWeak && !other.isWeak && opaque == other.opaque
    }

    /// §8.8.3.2 weak comparison: the opaque tags are identical, weak or not.
    public func weakMatches(_ other: EntityTag) -> Bool {
        opaque == other.opaque
    }

    /// The field value: `W/"xyzzy"` or `"xyzzy"`.
    public var value: String { isWeak ? "W/" + opaque : opaque }

    /// The members of a list of entity tags (`If-None-Match`, `If-Match`; several field lines joined
    /// with `,`): the valid ones in order, or nil when some member is not an entity tag. Commas inside
    /// the quotes belong to the tag; empty members are skipped (RFC 9110 §5.6.1).
    public static func list(_ text: some StringProtocol) -> [EntityTag]? {
        var tags: [EntityTag] = []
        var member: [UInt8] = []
        var quoted = false
        for byte in Substring(text).utf8 {
            if byte == 0x22 { quoted.toggle() }
            if byte == UInt8(ascii: ","), !quoted {
                guard appendMember(member, to: &tags) else { return nil }
                member.removeAll(keepingCapacity: true)
            } else {
                member.append(byte)
            }
        }
        guard !quoted, appendMember(member, to: &tags) else { return nil }
        return tags
    }

    private static func appendMember(_ member: [UInt8], to tags: inout [EntityTag]) -> Bool {
        let text = String(decoding: member, as: UTF8.self)
        if text.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return true }
        guard let tag = EntityTag(text) else { return false }
        tags.append(tag)
        return true
    }
}
