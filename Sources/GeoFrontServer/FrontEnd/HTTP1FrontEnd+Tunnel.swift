import NIOCore

/// `101 Switching Protocols` (WebSocket and other upgrades): the front end hands its connection
/// over to a ``TunnelHandler`` joined to the upstream's.
extension HTTP1FrontEnd {
    /// `101 Switching Protocols` went out: the connection becomes a tunnel to `upstream`.
    func startTunnel(to upstream: any Channel, idleTimeout: TimeAmount) {
        if stream != nil {
            // An HTTP/2 stream is not upgraded (RFC 9113 §8.6): the upstream's 101 ends it.
            upstream.close(promise: nil)
            cut()
            return
        }
        becomeTunnel(to: upstream)
        TunnelHandler.join(self, upstream: upstream, idleTimeout: idleTimeout)
    }

    /// From now on the connection is a tunnel to `upstream`. Bytes that followed the upgrade
    /// request go there first; the caller replaces this handler.
    fileprivate func becomeTunnel(to upstream: any Channel) {
        timer?.cancel()
        phase = .tunnel(upstream)
        if let pending = buffer, pending.readableBytes > 0 { upstream.writeAndFlush(pending, promise: nil) }
        buffer = nil
        flushIfNeeded()
    }

    /// Replaces this handler with the tunnel's end (after ``becomeTunnel(to:)``).
    func leavePipeline(for tunnelEnd: TunnelHandler) throws {
        guard let context else { return }
        try context.pipeline.syncOperations.addHandler(tunnelEnd, position: .after(self))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        readPending = false
        context.channel.read()
    }
}
