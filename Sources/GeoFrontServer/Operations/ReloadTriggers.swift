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

/// Reloads when a file the configuration names is replaced: the GeoIP database, and the TLS
/// listener's certificates and keys (an atomic rename changes the inode and modification time).
/// Polls once a second; a change must hold for two polls, so a file still being written is not
/// loaded half-way, and a certificate and key renewed one after the other are usually taken
/// together (if not, the first reload fails on the mismatch, keeps the old pair, and the next
/// change succeeds).
public struct WatchedFilesReloader: Service {
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

    /// The files of `config` whose replacement means a reload.
    static func watchedPaths(_ config: GeoFrontConfig) -> [String] {
        var paths = [config.geoip.database]
        for files in config.tls?.certificates ?? [] {
            paths.append(files.certificate)
            paths.append(files.privateKey)
        }
        return paths
    }

    public func run() async throws {
        var paths = Self.watchedPaths(publisher.current.config)
        var loaded = paths.map(FileStamp.init(path:))
        var candidate: [FileStamp?]?
        while !Task.isCancelledOrShuttingDown {
            try? await Task.sleep(for: interval)
            let current = Self.watchedPaths(publisher.current.config)
            if current != paths {
                // A reload pointed at other files: watch those from now on.
                paths = current
                loaded = paths.map(FileStamp.init(path:))
                candidate = nil
                continue
            }
            let stamps = paths.map(FileStamp.init(path:))
            // A missing file is not a reason to reload (it may be mid-replacement).
            guard stamps != loaded, !stamps.contains(where: { $0 == nil }) else {
                candidate = nil
                continue
            }
            if stamps == candidate {
                let changed = zip(paths, zip(stamps, loaded)).first { $1.0 != $1.1 }?.0
                loaded = stamps
                candidate = nil
                await reloader.reload(reason: "file changed\(changed.map { ": \($0)" } ?? "")")
            } else {
                candidate = stamps
            }
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool {
        Task.isCancelled || Task.isShuttingDownGracefully
    }
}
