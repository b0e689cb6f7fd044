import NIOCore
import NIOHTTP2

/// One HTTP/2 stream of a client connection as one HTTP/1.1 exchange of an ordinary
/// ``HTTP1FrontEnd``, so that a stream drives the same decision and exchange as an HTTP/1
/// request (redirect, proxy, routes, policies, cache). It lives on its connection's
/// ``H2StreamHost`` (no channel of its own) and is the front end's transport: the front end
/// writes, flushes, closes and asks for reads here as it would on its channel.
///
/// Inbound, the stream's HEADERS become request head bytes (``H2RequestHead``) and its DATA the
/// body (as it is under a `content-length`, else as chunks; trailers end it). DATA that goes past
/// the `content-length`, or ends the stream short of it, is never passed on: the request is
/// malformed (RFC 9113 §8.1.1) and the stream reset, so the front end cannot read body bytes as
/// the start of another request. DATA the front end
/// does not read yet is held, and the stream's window is given back only as it is taken
/// (``H2InboundWindow``): a request body waiting for its upstream stops the client after one
/// window. Outbound, the response bytes the front end writes become HEADERS and DATA
/// (``H2ResponseFramer``), with END_STREAM where the response's framing ends it. A stream carries
/// one request: once the response is out and the request in, NIOHTTP2 closes the stream; a
/// response that ends before its request body does resets the rest (as HTTP/1 would close the
/// connection). A header block HTTP/1.1 cannot carry, or a response the front end cuts short,
/// resets the stream.
///
/// Writability, as a stream channel of NIOHTTP2's would have it: not writable while more than
/// the high watermark of written DATA waits in NIOHTTP2 for the client's window (until it is back
/// under the low one), or while the connection is not writable. `server.send_timeout_ms` is kept
/// per stream with a ``SendTimeoutGate``: while the stream is not writable its reads are held,
/// and if it stays so for the whole timeout the stream is reset, its upstream request cancelled,
/// and the timeout counted. A client can shut one stream's window while the others go on.
final class H2ServerStream {
    private enum Request {
        case head
        case body(H2RequestHead.Body)
        case done
    }

    let id: HTTP2StreamID
    private unowned let host: H2StreamHost
    private var frontEnd: HTTP1FrontEnd?
    private var request = Request.head
    /// Body bytes the request's `content-length` still announces.
    private var lengthLeft = 0
    private var response = H2ResponseFramer()
    /// RST_STREAM went out, or the stream ended: nothing more is written.
    private var reset = false

    /// Request body not yet taken by the front end, with the window bytes each part stands for.
    private var held: [(bytes: ByteBuffer, window: Int)] = []
    private var inbound: H2InboundWindow
    /// The front end wants what arrives (a read is asked for).
    private var reading = true
    /// Handing held parts over (a read asked for meanwhile only lets the hand-over go on).
    private var handingOver = false
    /// Given the front end during the connection's current read: its read's end is due.
    var readInProgress = false

    /// DATA written and not yet sent by NIOHTTP2 (waiting for the client's window).
    private var queuedBytes = 0
    private var belowWatermark = true
    private(set) var writable = true
    private var sendGate = SendTimeoutGate()

    init(id: HTTP2StreamID, host: H2StreamHost, windowTarget: Int) {
        self.id = id
        self.host = host
        inbound = H2InboundWindow(target: windowTarget)
        writable = host.parentWritable
    }

    var allocator: ByteBufferAllocator { host.allocator }
    var eventLoop: any EventLoop { host.eventLoop }

    // MARK: - From the connection

    /// The stream's first frame: the request's HEADERS.
    func open(_ block: HTTP2Frame.FramePayload.Headers, frontEnd: HTTP1FrontEnd) {
        let head: H2RequestHead
        do {
            head = try H2RequestHead.make(block.headers, endStream: block.endStream, allocator: allocator)
        } catch {
            malformed()
            return
        }
        request = head.body == .none ? .done : .body(head.body)
        lengthLeft = head.contentLength ?? 0
        inbound.closed = head.body == .none
        response.requestWasHEAD = head.isHEAD
        self.frontEnd = frontEnd
        frontEnd.attach(to: self, peer: host.clientAddress)
        if !writable { frontEnd.writabilityChanged(false) }
        pass(head.bytes, window: 0)
    }

    /// A later frame of the stream: body, trailers.
    func receive(_ payload: HTTP2Frame.FramePayload) {
        switch (payload, request) {
        case (.data(let frame), .body(let body)):
            guard case .byteBuffer(var bytes) = frame.data else { return }
            let window = bytes.readableBytes
            if body == .length {
                lengthLeft -= window
                guard lengthLeft >= 0, !frame.endStream || lengthLeft == 0 else {
                    malformed()
                    return
                }
            }
            if body == .chunked {
                bytes = ChunkedDATA.chunk(bytes, last: frame.endStream, allocator: allocator)
            }
            if frame.endStream { requestEnded() }
            if bytes.readableBytes > 0 { pass(bytes, window: window) }
        case (.headers(let trailers), .body(let body)):
            // Trailers (NIOHTTP2 made sure they end the stream) are not passed on: the body ends.
            guard trailers.endStream else { return }
            guard H2RequestHead.isValidTrailers(trailers.headers), body != .length || lengthLeft == 0 else {
                malformed()
                return
            }
            requestEnded()
            if body == .chunked { pass(allocator.buffer(staticString: "0\r\n\r\n"), window: 0) }
        default:
            // PRIORITY and the like: NIOHTTP2's business.
            break
        }
    }

    /// NIOHTTP2 reports the stream's receive window at `size`.
    func windowReported(_ size: Int) {
        if let increment = inbound.reported(size) { giveCredit(increment) }
    }

    /// The connection's read is over: the front end's read ends too.
    func readComplete() {
        readInProgress = false
        endRead()
    }

    /// NIOHTTP2 sent `bytes` of this stream's DATA.
    func sent(_ bytes: Int) {
        queuedBytes -= bytes
        updateWritability()
    }

    /// The connection's writability changed.
    func connectionWritabilityChanged() {
        updateWritability()
    }

    /// The stream is closed (both ends done, reset by either side, or the connection gone).
    func closed() {
        reset = true
        request = .done
        held = []
        sendGate.cancel()
        guard let frontEnd else { return }
        // A HEADERS frame with END_STREAM closes the stream as it is written, before the front
        // end's flush (which no longer reaches the stream): it is flushed here.
        host.flushClosedStream()
        self.frontEnd = nil
        // The stream can close inside one of the front end's own calls (a write of its exchange
        // sends END_STREAM): it is let go when the loop's turn ends, not under that call.
        frontEnd.loop.keepUntilTurnEnd(frontEnd)
        frontEnd.streamEnded()
    }

    // MARK: - From the front end

    func write(_ out: ByteBuffer) {
        guard !reset else { return }
        do {
            try response.consume(out, previous: &host.previousResponseFields) { emit($0) }
        } catch {
            resetStream(.internalError)
        }
    }

    /// A response without a body that the front end makes itself (a redirect), as its fields:
    /// one HEADERS frame with END_STREAM, with no HTTP/1.1 head printed and parsed again in
    /// between. Only as the response's first write.
    func writeBodilessHead(status: String, _ fill: (inout H2ResponseFields) -> Void) {
        guard !reset, response.headPending else { return }
        var fields = H2ResponseFields(status: status, previous: host.previousResponseFields)
        fill(&fields)
        response.wroteBodilessHead()
        host.previousResponseFields = fields.headers
        emit(.headers(.init(headers: fields.headers, endStream: true)))
    }

    func flush() {
        guard !reset else { return }
        response.flushHeld { emit($0) }
        host.flush()
        // The response is whole but the request is not: the rest of it is not wanted.
        if response.isDone, case .body = request { resetStream(.noError) }
    }

    /// The front end is done with the stream: a body without length ends here; a response cut
    /// short (or never given) resets the stream, as does a request body nobody will read.
    func close() {
        guard !reset else { return }
        if response.endsAtClose {
            response.finish { emit($0) }
            host.flush()
        } else if !response.isDone {
            resetStream(.internalError)
            return
        }
        if case .body = request { resetStream(.noError) }
    }

    /// The front end asks for what arrives (held back while the stream is not writable).
    func read() {
        guard sendGate.passRead(writable: writable) else { return }
        resumeReading()
    }

    // MARK: - Inside

    private func resumeReading() {
        reading = true
        guard !held.isEmpty, !handingOver else { return }
        handingOver = true
        while reading, !held.isEmpty, let frontEnd {
            let part = held.removeFirst()
            if let increment = inbound.taken(part.window) { giveCredit(increment) }
            if host.inRead { noteRead() }
            frontEnd.receive(part.bytes)
        }
        handingOver = false
        // Outside the connection's read, this hand-over is a read of its own.
        if !host.inRead { endRead() }
    }

    /// The front end's read ends, and the next is asked for at once (as a channel reading
    /// automatically would); the front end may hold it back.
    private func endRead() {
        guard let frontEnd else { return }
        frontEnd.readComplete()
        reading = false
        frontEnd.readRequested()
    }

    /// Request bytes for the front end: now, when it reads, or held until it does.
    private func pass(_ bytes: ByteBuffer, window: Int) {
        guard !reset else { return }
        guard reading, held.isEmpty, let frontEnd else {
            held.append((bytes, window))
            inbound.hold(window)
            return
        }
        noteRead()
        frontEnd.receive(bytes)
    }

    /// The front end is given bytes in the connection's read: the host ends its read with it.
    private func noteRead() {
        guard !readInProgress else { return }
        readInProgress = true
        host.readInProgress(self)
    }

    private func requestEnded() {
        request = .done
        inbound.closed = true
    }

    private func emit(_ payload: HTTP2Frame.FramePayload) {
        if case .data(let data) = payload {
            queuedBytes += data.data.readableBytes
            host.write(HTTP2Frame(streamID: id, payload: payload))
            updateWritability()
        } else {
            host.write(HTTP2Frame(streamID: id, payload: payload))
        }
    }

    private func giveCredit(_ increment: Int) {
        guard !reset else { return }
        host.write(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: increment)))
        host.flush()
    }

    private func updateWritability() {
        if belowWatermark {
            if queuedBytes > host.highWatermark { belowWatermark = false }
        } else if queuedBytes < host.lowWatermark {
            belowWatermark = true
        }
        let now = belowWatermark && host.parentWritable
        guard now != writable else { return }
        writable = now
        guard !reset else { return }
        let resume = sendGate.writabilityChanged(writable: now, on: host.eventLoop, timeout: host.sendTimeout) {
            [weak self] in
            guard let self, !self.reset else { return }
            self.host.sendTimedOut()
            self.close()
        }
        if resume { resumeReading() }
        frontEnd?.writabilityChanged(now)
    }

    /// A malformed request: its stream is reset with PROTOCOL_ERROR (RFC 9113 §8.1.1), counted
    /// against the connection's allowance (``H2StreamErrorBudget``).
    private func malformed() {
        resetStream(.protocolError)
        host.malformedRequest(on: id)
    }

    /// Ends the stream with RST_STREAM `code`; NIOHTTP2 then closes it (``closed()``).
    private func resetStream(_ code: HTTP2ErrorCode) {
        guard !reset else { return }
        reset = true
        request = .done
        inbound.closed = true
        host.write(HTTP2Frame(streamID: id, payload: .rstStream(code)))
        host.flush()
    }
}
