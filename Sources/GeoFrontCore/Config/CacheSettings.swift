/// `cache`: the proxy's shared HTTP cache (RFC 9111). Off when the key is absent.
public struct CacheSettings: Sendable, Hashable {
    /// Hard bound on stored bodies and headers, in MiB.
    public var memoryMB = 256
    /// Larger objects stream through uncached, in KiB.
    public var maxObjectKB = 8192
    /// `stale-if-error` window when a response gives none (seconds; 0: none).
    public var staleIfErrorSeconds = 0
    /// `stale-while-revalidate` window when a response gives none (seconds; 0: none).
    public var staleWhileRevalidateSeconds = 0
    /// `key.include_region`: the chosen region is part of the key.
    public var includeRegion = false
    /// `key.query`.
    public var query = CacheQueryPolicy.all

    public init() {}
}
