import GeoFrontCore
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// Reloads on SIGHUP.
public struct SignalReloadService: Service {
    let reloader: ConfigReloader

    public init(reloader: ConfigReloader) {
        self.reloader = reloader
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await reloader.reload(reason: "SIGHUP")
        }
    }
}

/// Reloads when the GeoIP database file is replaced (an atomic rename changes its inode and
/// modification time). Polls once a second; a change must hold for two polls, so a file still
/// being written is not loaded half-way.
public struct DatabaseWatcher: Service {
    let reloader: ConfigReloader
    let publisher: SnapshotPublisher
    let interval: Duration

    public init(reloader: ConfigReloader, publisher: SnapshotPublisher, interval: Duration = .seconds(1)) {
        self.reloader = reloader
        self.publisher = publisher
        self.interval = interval
    }

    struct FileStamp: Equatable {
        var inode: UInt64
        var size: Int64
        var seconds: Int
        var nanoseconds: Int

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            seconds = Int(info.st_mtim.tv_sec)
            nanoseconds = Int(info.st_mtim.tv_nsec)
        }
    }

    public func run() async throws {
        var path = publisher.current.config.geoip.database
        var loaded = FileStamp(path: path)
        var candidate: FileStamp?
        while !Task.isCancelledOrShuttingDown {
            try? await Task.sleep(for: interval)
            let current = publisher.current.config.geoip.database
            if current != path {
                // A reload pointed at another file: watch that one from now on.
                path = current
                loaded = FileStamp(path: path)
                candidate = nil
                continue
            }
            let stamp = FileStamp(path: path)
            guard stamp != loaded, let stamp else {
                candidate = nil
                continue
            }
            if stamp == candidate {
                loaded = stamp
                candidate = nil
                await reloader.reload(reason: "database file changed")
            } else {
                candidate = stamp
            }
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool {
        Task.isCancelled || Task.isShuttingDownGracefully
    }
}
