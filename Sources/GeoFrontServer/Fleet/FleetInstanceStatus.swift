import Foundation

/// What an instance records under `PREFIX/instances/ID` (leased: it disappears with the instance):
/// `{"id", "revision", "refused": {"revision", "error"} or null, "started", "version"}`.
public struct FleetInstanceStatus: Codable, Sendable, Equatable, EtcdRecord {
    public struct Refusal: Codable, Sendable, Equatable {
        /// The etcd `mod_revision` of the refused document.
        public var revision: Int64
        public var error: String
    }

    public var id: String
    /// The etcd `mod_revision` of the configuration the instance runs (0: none from etcd yet).
    public var revision: Int64
    /// The latest document refused, while no later one has been applied.
    public var refused: Refusal?
    /// When the instance started (ISO 8601, UTC).
    public var started: String
    public var version: String

    public init(id: String, revision: Int64, refused: Refusal?, started: String, version: String) {
        self.id = id
        self.revision = revision
        self.refused = refused
        self.started = started
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case id, revision, refused, started, version
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(revision, forKey: .revision)
        // `null`, not left out: a reader sees that nothing was refused.
        try container.encode(refused, forKey: .refused)
        try container.encode(started, forKey: .started)
        try container.encode(version, forKey: .version)
    }
}

/// The version an instance reports in its record.
public enum GeoFrontVersion {
    public static let current = "0.1.0-dev"
}
