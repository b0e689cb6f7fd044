import Foundation
import Logging
import ServiceLifecycle

/// Follows the configuration key in etcd and applies each new revision through the reload path a
/// file takes (``ConfigReloader``): validated in full, refused with the running configuration
/// kept when anything is wrong. Each outcome goes into the instance's record.
///
/// When etcd is unreachable the running configuration keeps serving and the watcher retries with
/// ``Backoff``. Each (re)connection reads the key first, applying a revision it missed, and
/// watches from the revision after that read, so no put between the two is lost (and a watch
/// that etcd cancels because its start revision was compacted starts over the same way). While
/// watching, the key is also read every few seconds: a connection that died silently (no reset)
/// is noticed by that read timing out or failing, and the watch starts over.
public struct EtcdConfigWatcher: Service {
    let client: EtcdClient
    let store: EtcdConfigStore
    let reloader: ConfigReloader
    let record: FleetInstanceRecord?
    let logger: Logger
    /// False when the instance started from its cache because etcd was unreachable.
    let reachableAtStart: Bool
    /// How often the watch's connection is checked by a read of the key.
    let probeInterval: Duration

    public init(
        client: EtcdClient, store: EtcdConfigStore, reloader: ConfigReloader, record: FleetInstanceRecord?,
        logger: Logger, reachableAtStart: Bool, probeInterval: Duration = .seconds(5)
    ) {
        self.probeInterval = probeInterval
        self.client = client
        self.store = store
        self.reloader = reloader
        self.record = record
        self.logger = logger
        self.reachableAtStart = reachableAtStart
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.follow()
        }
    }

    private func follow() async {
        var backoff = Backoff()
        var failing = !reachableAtStart
        // The newest revision applied or refused: a revision is tried once.
        var considered = store.good?.revision ?? 0
        let key = client.endpoint.configKey
        while !Task.isCancelledOrShuttingDown {
            do {
                let (value, revision) = try await client.get(key)
                if failing {
                    logger.notice(
                        "etcd reachable again; following the configuration",
                        metadata: ["etcd": "\(client.endpoint)", "revision": "\(revision)"])
                    failing = false
                }
                backoff.reset()
                if let value, value.modRevision != considered {
                    considered = value.modRevision
                    await apply(EtcdConfigStore.Document(data: value.value, revision: value.modRevision))
                }
                let watch = try await client.watch(key, from: revision + 1)
                // A connection cut without a reset would leave the watch waiting for hours (TCP
                // keepalive): a read every `probeInterval` ends it when etcd stops answering.
                let probe = Task { [client, probeInterval] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: probeInterval)
                        if Task.isCancelled { return }
                        do {
                            _ = try await client.get(key)
                        } catch {
                            watch.close()
                            return
                        }
                    }
                }
                defer { probe.cancel() }
                for try await message in watch.messages {
                    guard
                        let result = try EtcdWire.WatchMessage.decodedResult(of: message, watching: "the configuration")
                    else { continue }
                    for event in result.events ?? [] {
                        guard let kv = event.kv else { continue }
                        let modRevision = kv.modRevision?.value ?? 0
                        if event.type == "DELETE" {
                            logger.warning(
                                "the configuration key was deleted from etcd; the running configuration keeps serving",
                                metadata: ["key": "\(key)", "revision": "\(result.header?.revision?.value ?? 0)"])
                            continue
                        }
                        guard modRevision > considered else { continue }
                        considered = modRevision
                        await apply(
                            EtcdConfigStore.Document(data: EtcdWire.decodeBase64(kv.value), revision: modRevision))
                    }
                }
                throw EtcdError("etcd ended the watch")
            } catch {
                if Task.isCancelledOrShuttingDown { return }
                let wait = backoff.next()
                if !failing {
                    logger.warning(
                        "etcd unreachable; the running configuration keeps serving, retrying with backoff",
                        metadata: [
                            "etcd": "\(client.endpoint)", "error": "\(error)",
                            "running_revision": "\(store.good?.revision ?? 0)",
                        ])
                    failing = true
                } else {
                    logger.debug("etcd still unreachable", metadata: ["error": "\(error)", "retry_in": "\(wait)"])
                }
                try? await Task.sleep(for: wait)
            }
        }
    }

    /// Tries `document` through the reload path; caches and records it when it applies.
    private func apply(_ document: EtcdConfigStore.Document) async {
        store.propose(document)
        let result = await reloader.reload(reason: "etcd revision \(document.revision)")
        switch result {
        case .success:
            store.settle(document, applied: true)
            do {
                try store.writeCache(document)
            } catch {
                logger.error("cannot write the configuration cache", metadata: ["error": "\(error)"])
            }
            record?.applied(revision: document.revision)
        case .failure(let failure):
            store.settle(document, applied: false)
            record?.refused(revision: document.revision, error: failure.description)
        }
    }
}
