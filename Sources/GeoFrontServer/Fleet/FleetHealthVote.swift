import Foundation

/// One instance's verdict on one health-check target, as stored (leased) at
/// `PREFIX/health/ID/REGION/TARGET`: `{"region", "target", "up", "since", "reason"}`. The region
/// and target in the key are escaped (`%` and `/` percent-encoded); the value carries them as they
/// are.
public struct FleetHealthVote: Codable, Sendable, Equatable, EtcdRecord {
    /// The region's id: its name, or `service/region`.
    public var region: String
    /// The target as the status page shows it (`127.0.0.1:8080`, `https://host:443`).
    public var target: String
    /// The instance's own verdict (after `rise` and `fall`).
    public var up: Bool
    /// When the verdict became what it is (ISO 8601, UTC).
    public var since: String
    /// Why it is down (the last failure), or nil.
    public var reason: String?

    public init(region: String, target: String, up: Bool, since: String, reason: String?) {
        self.region = region
        self.target = target
        self.up = up
        self.since = since
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case region, target, up, since, reason
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(region, forKey: .region)
        try container.encode(target, forKey: .target)
        try container.encode(up, forKey: .up)
        try container.encode(since, forKey: .since)
        // `null`, not left out: a reader sees there is no reason.
        try container.encode(reason, forKey: .reason)
    }

    /// `PREFIX/health/ID/REGION/TARGET`, with `/` and `%` in the region and target escaped.
    public static func key(healthPrefix: String, instance: String, region: String, target: String) -> String {
        healthPrefix + escape(instance) + "/" + escape(region) + "/" + escape(target)
    }

    /// The instance id of a vote's key (nil when the key is not under `healthPrefix`).
    public static func instance(ofKey key: String, healthPrefix: String) -> String? {
        guard key.hasPrefix(healthPrefix) else { return nil }
        guard let first = key.dropFirst(healthPrefix.count).split(separator: "/").first else { return nil }
        return String(first).removingPercentEncoding ?? String(first)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "/", with: "%2F")
    }
}
