import NIOCore
import NIOHTTP2

/// One HTTP/2 connection of an ``H2UpstreamPool``, on the pool's event loop: its multiplexer, how
/// many streams it carries against the upstream's limit, and whether it still takes new ones.
final class H2UpstreamConnection {
    var channel: (any Channel)?
    var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
    /// Streams open or being opened.
    private(set) var streams = 0
    /// The upstream's `SETTINGS_MAX_CONCURRENT_STREAMS` (100 when its SETTINGS do not say).
    private(set) var maxStreams = 100
    /// The upstream's first SETTINGS came: the connection takes streams.
    private(set) var isReady = false
    /// Called once, when the connection becomes ready.
    var onReady: (() -> Void)?
    var goingAway = false
    var closed = false
    private let idleTimeout: TimeAmount
    private var idleTimer: Scheduled<Void>?

    init(idleTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
    }

    var takesStreams: Bool { isReady && !goingAway && !closed }
    var hasRoom: Bool { takesStreams && streams < maxStreams }

    /// The upstream's SETTINGS: its stream limit, when it gives one. The first ones make the
    /// connection ready.
    func settingsReceived(maxConcurrentStreams: Int?) {
        if let maxConcurrentStreams { maxStreams = maxConcurrentStreams }
        guard !isReady else { return }
        isReady = true
        onReady?()
        onReady = nil
        if streams == 0 { scheduleIdleClose() }
    }

    func reserve() {
        streams += 1
        cancelIdleTimer()
    }

    /// A stream closed (or failed to open): a connection left without streams closes after
    /// `pool_idle_timeout_ms`, or at once when it is going away.
    func release() {
        streams -= 1
        guard streams == 0, !closed else { return }
        if goingAway {
            channel?.close(promise: nil)
            return
        }
        scheduleIdleClose()
    }

    private func scheduleIdleClose() {
        guard let channel else { return }
        cancelIdleTimer()
        let bound = NIOLoopBound(self, eventLoop: channel.eventLoop)
        idleTimer = channel.eventLoop.scheduleTask(in: idleTimeout) {
            let connection = bound.value
            if connection.streams == 0 { connection.channel?.close(promise: nil) }
        }
    }

    func cancelIdleTimer() {
        idleTimer?.cancel()
        idleTimer = nil
    }
}
