/// A region's `capacity`: how much this instance sends it before new requests spill to the next
/// choice. Nil fields: no limit.
public struct RegionCapacity: Sendable, Hashable {
    /// `max_active_requests`: proxied requests in flight to the region (proxy mode).
    public var maxActiveRequests: Int?
    /// `max_rps`: requests sent there per second (either mode).
    public var maxRequestsPerSecond: Int?

    public init(maxActiveRequests: Int? = nil, maxRequestsPerSecond: Int? = nil) {
        self.maxActiveRequests = maxActiveRequests
        self.maxRequestsPerSecond = maxRequestsPerSecond
    }

    public var isLimited: Bool { maxActiveRequests != nil || maxRequestsPerSecond != nil }
}

extension RegionCapacity {
    /// Reads a region's `capacity`.
    static func read(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> RegionCapacity? {
        guard let fields = reader.object(value, at: path, allowed: ["max_active_requests", "max_rps"]) else {
            return nil
        }
        var capacity = RegionCapacity()
        if let value = fields["max_active_requests"] {
            capacity.maxActiveRequests = reader.integer(
                value, at: ConfigReader.join(path, "max_active_requests"), in: 1...10_000_000)
        }
        if let value = fields["max_rps"] {
            capacity.maxRequestsPerSecond = reader.integer(
                value, at: ConfigReader.join(path, "max_rps"), in: 1...100_000_000)
        }
        if !capacity.isLimited { reader.fail(path, "needs max_active_requests or max_rps") }
        return capacity
    }
}
