import GeoFrontCore
import Synchronization

/// The process's response cache across reloads: kept while `cache.memory_mb` and
/// `cache.max_object_kb` stay the same (the other keys apply per request), replaced — empty —
/// when they change, dropped when `cache` goes away.
public final class CacheRegistry: Sendable {
    let metrics: GeoFrontMetrics
    /// The cache's clock (tests move it).
    let clock = CacheClock()
    private let current = Mutex<ResponseCache?>(nil)

    init(metrics: GeoFrontMetrics) {
        self.metrics = metrics
        metrics.addCollector { [weak self] in self?.active?.recordSize() }
    }

    /// The cache for `settings` (nil: off).
    func cache(for settings: CacheSettings?) -> ResponseCache? {
        current.withLock { current in
            guard let settings else {
                current = nil
                return nil
            }
            if let cache = current, cache.settings.memoryMB == settings.memoryMB,
                cache.settings.maxObjectKB == settings.maxObjectKB
            {
                return cache
            }
            let cache = ResponseCache(settings: settings, metrics: metrics, clock: clock)
            current = cache
            return cache
        }
    }

    /// The cache now, if there is one (admin).
    var active: ResponseCache? { current.withLock { $0 } }

    /// Requests collapsed into the fill in progress for `url` (tests); `scope` is the key's service
    /// (and region) part when routes or `key.include_region` put one there.
    public func activeFollowers(of url: String, scope: String? = nil) -> Int {
        active?.followers(of: url, scope: scope) ?? 0
    }

    /// The bytes the cache's store accounts for now (tests).
    public var storedBytes: Int { active?.store.statistics.bytes ?? 0 }

    /// Stops the cache's clock (tests: responses age only when the test moves it).
    public func freezeClock() {
        clock.freeze()
    }

    /// Moves the cache's clock ahead (tests: responses age without waiting).
    public func advanceClock(by seconds: Int) {
        clock.advance(by: seconds)
    }
}
