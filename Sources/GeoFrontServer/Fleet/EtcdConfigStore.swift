import Foundation
import GeoFrontCore
import NIOConcurrencyHelpers

/// The configuration document from etcd as this instance knows it: the last good revision (what
/// runs), a candidate being tried, and the `--config-cache` file that keeps the last good one
/// across a restart while etcd is away.
///
/// Relative paths in a document from etcd (`geoip.database`, certificates) resolve against
/// `baseDirectory`, the instance's working directory: a document has no folder of its own.
public final class EtcdConfigStore: Sendable {
    public struct Document: Sendable {
        public let data: Data
        /// The key's etcd `mod_revision`.
        public let revision: Int64

        public init(data: Data, revision: Int64) {
            self.data = data
            self.revision = revision
        }
    }

    public let endpoint: EtcdEndpoint
    public let cachePath: String?
    public let baseDirectory: String
    private let state = NIOLockedValueBox<(good: Document?, candidate: Document?)>((nil, nil))

    public init(endpoint: EtcdEndpoint, cachePath: String?, baseDirectory: String) {
        self.endpoint = endpoint
        self.cachePath = cachePath
        self.baseDirectory = baseDirectory
    }

    /// The document that runs.
    public var good: Document? { state.withLockedValue { $0.good } }

    /// What a reload reads: the candidate being tried, else the document that runs.
    public func loadCurrent() throws -> GeoFrontConfig {
        guard let document = state.withLockedValue({ $0.candidate ?? $0.good }) else {
            throw EtcdError("no configuration from etcd yet")
        }
        return try parse(document)
    }

    /// Validates `document` as a configuration file is validated.
    public func parse(_ document: Document) throws(ConfigError) -> GeoFrontConfig {
        try ConfigLoader.parse(
            document.data, baseDirectory: baseDirectory,
            file: "\(endpoint.configKey) (etcd revision \(document.revision))")
    }

    /// The next reload tries `document`.
    func propose(_ document: Document) {
        state.withLockedValue { $0.candidate = document }
    }

    /// The candidate was applied (or refused, `applied` false): from now on reloads read the
    /// document that runs.
    func settle(_ document: Document, applied: Bool) {
        state.withLockedValue {
            if applied { $0.good = document }
            $0.candidate = nil
        }
    }

    /// Records `document` as the one that runs (at start-up) and caches it.
    public func started(with document: Document, cache: Bool) throws {
        state.withLockedValue { $0.good = document }
        if cache { try writeCache(document) }
    }

    /// Writes `document` to the cache file: a temporary file beside it, then a rename, so a
    /// crash never leaves half a file. The revision goes first into `PATH.revision` the same way.
    public func writeCache(_ document: Document) throws {
        guard let cachePath else { return }
        try Self.writeAtomically(Data("\(document.revision)\n".utf8), to: cachePath + ".revision")
        try Self.writeAtomically(document.data, to: cachePath)
    }

    /// The cached document, or nil when there is no cache file.
    public func readCache() throws -> Document? {
        guard let cachePath, FileManager.default.fileExists(atPath: cachePath) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: cachePath))
        let revisionText = (try? String(contentsOfFile: cachePath + ".revision", encoding: .utf8)) ?? ""
        let revision = Int64(revisionText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        return Document(data: data, revision: revision)
    }

    private static func writeAtomically(_ data: Data, to path: String) throws {
        let temporary = "\(path).tmp-\(getpid())"
        do {
            try data.write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else {
                throw EtcdError("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }
}
