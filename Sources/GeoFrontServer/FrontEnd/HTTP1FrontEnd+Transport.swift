import NIOCore

/// The front end's transport: the channel it is a handler in (an HTTP/1 connection), or the
/// HTTP/2 stream it serves (``H2ServerStream``). Writes, flushes, closes and reads go to
/// whichever it has.
extension HTTP1FrontEnd {
    var allocator: ByteBufferAllocator? {
        if let context { return context.channel.allocator }
        return stream?.allocator
    }

    var eventLoop: (any EventLoop)? {
        if let context { return context.eventLoop }
        return stream?.eventLoop
    }

    /// In a pipeline, or serving a stream.
    var isAttached: Bool { context != nil || stream != nil }

    /// A read goes on to the transport.
    func transportRead() {
        if let context {
            context.read()
        } else {
            stream?.read()
        }
    }

    // MARK: - Client writes

    func write(_ out: ByteBuffer) {
        if let context {
            context.write(wrapOutboundOut(out), promise: nil)
        } else {
            stream?.write(out)
        }
        unflushed = true
    }

    /// An HTTP/2 stream's answer without a body, as its fields
    /// (``H2ServerStream/writeBodilessHead(status:_:)``).
    func writeBodilessHead(status: String, _ fill: (inout H2ResponseFields) -> Void) {
        stream?.writeBodilessHead(status: status, fill)
        unflushed = true
    }

    func flushIfNeeded() {
        if unflushed {
            unflushed = false
            if let context {
                context.flush()
            } else {
                stream?.flush()
            }
        }
    }

    func closeTransport() {
        if let context {
            context.close(promise: nil)
        } else {
            stream?.close()
        }
    }

    /// Flushes what was written and closes once it is out.
    func closeAfterWrites() {
        guard isAttached else { return }
        phase = .closing
        unflushed = false
        if let stream {
            stream.flush()
            stream.close()
            return
        }
        guard let context else { return }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Flushes and closes now (idle, or after a quiet end).
    func close() {
        phase = .closing
        flushIfNeeded()
        closeTransport()
    }
}
