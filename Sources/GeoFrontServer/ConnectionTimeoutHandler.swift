import NIOCore
import NIOHTTP1

/// Closes connections that hold resources without making progress.
///
/// - `idle`: no request in progress; after `idleTimeout` the connection is closed quietly.
/// - `receivingHead`: bytes of a new request arrived but its head is not complete; the head has
///   `requestTimeout` from the first byte (a deadline, so dribbling bytes does not extend it).
///   On expiry the client gets 408 and the connection is closed (slowloris).
/// - `receivingBody`: the head arrived; the body may not pause for longer than `requestTimeout`
///   (an idle limit, so large uploads at any steady speed pass; a stalled one is closed).
/// - `responding`: the request is read, responses are outstanding: no client timer.
///
/// Sits right after the HTTP decoder, so it sees every request part as it is parsed and every
/// response part on its way out. A read that produced no request part means a partial head.
final class ConnectionTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receivingHead
        case receivingBody
        case responding
    }

    private let idleTimeout: TimeAmount
    private let requestTimeout: TimeAmount
    private var state = State.idle
    private let timer: DeadlineTimer
    /// Requests whose response end has not been written yet (pipelining can make this > 1).
    private var outstandingResponses = 0
    private var partsInThisRead = false
    /// Body bytes arrived since the timer was armed.
    private var bodyProgress = false
    /// A read was asked of the socket and has not completed. When none is, the handlers behind
    /// are holding the client back (a proxied upload waiting for its upstream): not the client's
    /// fault, so its body timer does not fire.
    private var readOutstanding = false

    init(idleTimeout: TimeAmount, requestTimeout: TimeAmount, timers: LoopTimers) {
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.timer = DeadlineTimer(timers: timers)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Cleared in handlerRemoved, which ends the cycle through `context`.
        timer.action = { [unowned self] in self.expired(context: context) }
        if context.channel.isActive { arm(idleTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(idleTimeout)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
        timer.action = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partsInThisRead = true
        switch unwrapInboundIn(data) {
        case .head(let head) where head.method == .CONNECT:
            // Answered with 400 behind us; then closed from here, where nothing defers the close
            // (whatever follows a CONNECT would be tunnel bytes, never requests).
            context.fireChannelRead(data)
            context.close(promise: nil)
            return
        case .head:
            outstandingResponses += 1
            state = .receivingBody
            bodyProgress = false
            arm(requestTimeout)
        case .body:
            bodyProgress = true
        case .end:
            state = .responding
            disarm()
            becomeIdleIfDone(context: context)
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !partsInThisRead, case .idle = state {
            // Bytes arrived that did not complete a head: the start of a request.
            state = .receivingHead
            arm(requestTimeout)
        }
        partsInThisRead = false
        readOutstanding = false
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        readOutstanding = true
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            outstandingResponses -= 1
            becomeIdleIfDone(context: context)
        }
        context.write(data, promise: promise)
    }

    private func becomeIdleIfDone(context: ChannelHandlerContext) {
        if case .responding = state, outstandingResponses == 0 {
            state = .idle
            arm(idleTimeout)
        }
    }

    private func arm(_ delay: TimeAmount) {
        timer.arm(in: delay)
    }

    private func disarm() {
        timer.disarm()
    }

    private func cancel() {
        timer.cancel()
    }

    private func expired(context: ChannelHandlerContext) {
        switch state {
        case .receivingHead:
            let head = HTTPResponseHead(
                version: .http1_1, status: .requestTimeout,
                headers: ["Content-Length": "0", "Connection": "close", "Cache-Control": "no-store"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                loopBound.value.close(promise: nil)
            }
        case .receivingBody where bodyProgress || !readOutstanding:
            bodyProgress = false
            arm(requestTimeout)
        case .idle, .receivingBody:
            context.close(promise: nil)
        case .responding:
            break
        }
    }
}
