import GeoFrontCore
import NIOCore

/// A request collapsed into another one's upstream request for the same URL (``CacheFill``): it
/// writes that response to its own client as the body arrives, or, when the response is not
/// stored after all (or varies by a field this request has otherwise), goes upstream itself.
/// Lives on its client connection's event loop; the fill wakes it there.
final class CacheFollower {
    private unowned let frontEnd: HTTP1FrontEnd
    let fill: CacheFill
    let forward: CacheForward
    private let extras: CachedAnswers.Extras
    /// Goes upstream with ``forward`` (the fill was released, or is not for this request).
    private let goUpstream: (CacheForward) -> Void
    /// Counts and logs the answer once its status is known.
    private let answered: (Int) -> Void
    private var waiter: Int?
    private var cursor = 0
    private var headWritten = false
    private var chunked = false
    private var done = false

    init(
        frontEnd: HTTP1FrontEnd, fill: CacheFill, forward: CacheForward, extras: CachedAnswers.Extras,
        goUpstream: @escaping (CacheForward) -> Void, answered: @escaping (Int) -> Void
    ) {
        self.frontEnd = frontEnd
        self.fill = fill
        self.forward = forward
        self.extras = extras
        self.goUpstream = goUpstream
        self.answered = answered
    }

    /// Joins the fill; goes upstream at once when it is already over.
    func begin(on loop: any EventLoop) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        waiter = fill.join { loop.execute { bound.value.progressed() } }
        if waiter == nil {
            release()
            return
        }
        progressed()
    }

    /// The client left: stop listening.
    func cancel() {
        done = true
        if let waiter { fill.leave(waiter) }
        waiter = nil
    }

    private func progressed() {
        guard !done, let waiter else { return }
        let progress = fill.progress(waiter, after: cursor)
        if !headWritten {
            switch progress.phase {
            case .waiting:
                return
            case .released, .failed:
                release()
                return
            case .streaming, .finished:
                guard let head = progress.head,
                    forward.secondaryKey(varyNames: head.stored.varyNames) == head.secondaryKey
                else {
                    forward.status = CacheStatus(forward: .varyMiss)
                    release()
                    return
                }
                writeHead(head)
            }
        }
        for part in progress.parts { writePart(part) }
        cursor += progress.parts.count
        switch progress.phase {
        case .finished:
            if chunked { frontEnd.write(ByteBuffer(staticString: "0\r\n\r\n")) }
            cancel()
            frontEnd.followingFinished(closeClient: extras.close || (!chunked && headLength == nil))
        case .failed:
            cancel()
            frontEnd.cut()
        case .streaming, .waiting, .released:
            frontEnd.flushIfNeeded()
        }
    }

    private var headLength: Int?

    private func writeHead(_ head: CacheFill.Head) {
        headWritten = true
        var extras = extras
        extras.status = forward.status
        extras.status.forwardStatus = head.stored.status
        extras.status.collapsed = true
        extras.age = head.age.currentAge(now: forward.cache.clock.now)
        headLength = head.contentLength
        // Without a length the body goes chunked (or, to HTTP/1.0, until the connection closes).
        chunked = head.contentLength == nil && !extras.http10
        if head.contentLength == nil && extras.http10 { extras.close = true }
        var out = ByteBufferAllocator().buffer(capacity: head.stored.wire.readableBytes + 200)
        CachedAnswers.writeLines(head.stored, into: &out, edits: extras.edits, statusLine: true)
        if let length = head.contentLength {
            out.writeStaticString("Content-Length: ")
            CachedAnswers.writeDecimal(length, into: &out)
            out.writeStaticString("\r\n")
        } else if chunked {
            out.writeStaticString("Transfer-Encoding: chunked\r\n")
        }
        CachedAnswers.writeTrailingLines(extras, into: &out)
        answered(head.stored.status)
        frontEnd.write(out)
    }

    private func writePart(_ part: ByteBuffer) {
        guard part.readableBytes > 0 else { return }
        if chunked {
            var size = ByteBufferAllocator().buffer(capacity: 20)
            size.writeString(String(part.readableBytes, radix: 16))
            size.writeStaticString("\r\n")
            frontEnd.write(size)
            frontEnd.write(part)
            frontEnd.write(ByteBuffer(staticString: "\r\n"))
        } else {
            frontEnd.write(part)
        }
    }

    private func release() {
        cancel()
        forward.fill = nil
        goUpstream(forward)
    }
}
