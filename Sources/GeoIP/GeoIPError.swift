/// Why a GeoIP database could not be opened. Every message names the file.
public struct GeoIPError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The file does not exist or cannot be read (`reason` is the system's message).
        case unreadable
        /// The file is empty.
        case empty
        /// libmaxminddb refused the file at open (bad metadata, unknown format…).
        case invalidDatabase
        /// The file opened but its search tree or data section is corrupt.
        case corrupt
        /// The records do not have the types GeoFront reads (e.g. a string latitude).
        case unexpectedLayout
        /// The centroid table is missing or malformed.
        case invalidCentroidTable
    }

    public let kind: Kind
    public let path: String
    public let reason: String

    public init(_ kind: Kind, path: String, reason: String) {
        self.kind = kind
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
