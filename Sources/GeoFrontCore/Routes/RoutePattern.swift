/// A `match.path.regex`, compiled when the configuration is read.
///
/// `Regex` is not `Sendable` because its output type may not be; this one's output is
/// `AnyRegexOutput` and it is never changed after it is compiled. The standard library lowers a
/// regex's program once, lazily, with an atomic compare-and-swap, so matching from several
/// threads at once is safe; ``init(_:)`` matches once so that the lowering is done at load.
public struct RoutePattern: @unchecked Sendable, Hashable {
    /// The pattern as written in the file.
    public let source: String
    let regex: Regex<AnyRegexOutput>

    /// Compiles `source`; throws the compiler's complaint.
    public init(_ source: String) throws {
        self.source = source
        regex = try Regex(source)
        _ = matches("/")
    }

    /// Whether the pattern matches all of `path` (not just a part of it).
    public func matches(_ path: String) -> Bool {
        (try? regex.wholeMatch(in: path)) != nil
    }

    public static func == (lhs: RoutePattern, rhs: RoutePattern) -> Bool { lhs.source == rhs.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
}
