import Foundation
import GeoFrontCore

/// How `geofront serve --config etcd://…` gets its first configuration: from etcd when it
/// answers; from the `--config-cache` file when etcd is unreachable (or holds nothing usable);
/// otherwise it does not start, with an error naming the etcd address.
public enum EtcdStartup {
    public struct Loaded: Sendable {
        public let config: GeoFrontConfig
        public let document: EtcdConfigStore.Document
        /// Why the cache was used instead of etcd; nil when the configuration came from etcd.
        public let cacheReason: String?
        /// A document in etcd that failed validation at start-up (the cache ran instead).
        public let refused: FleetInstanceStatus.Refusal?
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func load(client: EtcdClient, store: EtcdConfigStore) async throws(Failure) -> Loaded {
        let endpoint = client.endpoint
        let key = endpoint.configKey
        let fetched: (value: EtcdClient.KeyValue?, revision: Int64)
        do {
            fetched = try await client.get(key)
        } catch {
            return try fromCache(
                store, reason: "etcd at \(endpoint.address) is unreachable (\(error))", refused: nil)
        }
        guard let value = fetched.value else {
            return try fromCache(
                store,
                reason:
                    "etcd at \(endpoint.address) has no configuration at \(key) (push one with `geofront config push FILE --etcd \(endpoint)`)",
                refused: nil)
        }
        let document = EtcdConfigStore.Document(data: value.value, revision: value.modRevision)
        do {
            let config = try store.parse(document)
            return Loaded(config: config, document: document, cacheReason: nil, refused: nil)
        } catch {
            return try fromCache(
                store, reason: "the configuration at \(key) in etcd at \(endpoint.address) is invalid: \(error)",
                refused: .init(revision: document.revision, error: "\(error)"))
        }
    }

    private static func fromCache(_ store: EtcdConfigStore, reason: String, refused: FleetInstanceStatus.Refusal?)
        throws(Failure) -> Loaded
    {
        guard let cachePath = store.cachePath else {
            throw Failure(description: "\(reason); without --config-cache there is no configuration to start with")
        }
        let document: EtcdConfigStore.Document?
        do {
            document = try store.readCache()
        } catch {
            throw Failure(description: "\(reason); the configuration cache \(cachePath) cannot be read: \(error)")
        }
        guard let document else {
            throw Failure(description: "\(reason); the configuration cache \(cachePath) does not exist yet")
        }
        do {
            let config = try ConfigLoader.parse(
                document.data, baseDirectory: store.baseDirectory,
                file: "\(cachePath) (cached etcd revision \(document.revision))")
            return Loaded(config: config, document: document, cacheReason: reason, refused: refused)
        } catch {
            throw Failure(description: "\(reason); the configuration cache is invalid: \(error)")
        }
    }
}
