import NIOCore

/// What the upstream connection of the current exchange reports (``ByteUpstreamHandler``):
/// response bytes to the state machine, writability for held client reads, its close.
extension ProxyExchangeDriver: ByteUpstreamDelegate {
    func upstreamRead(_ bytes: ByteBuffer) {
        guard attached else { return }
        switch machine.state {
        case .awaitingResponse:
            if response == nil {
                response = bytes
            } else {
                var bytes = bytes
                response!.writeBuffer(&bytes)
            }
            parseResponse()
        case .streamingResponse:
            forward(bytes)
        case .tunnel:
            // Between the 101 and the tunnel's handlers taking over.
            frontEnd.write(bytes)
        case .idle, .connecting, .closed:
            break
        }
    }

    func upstreamReadComplete() {
        guard attached else { return }
        frontEnd.flushIfNeeded()
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        guard attached else { return }
        upstreamWritable = writable
        if writable && !machine.requestComplete { frontEnd.resumeClientReads() }
    }

    func upstreamClosed() {
        guard attached else { return }
        switch machine.state {
        case .awaitingResponse:
            perform(machine.upstreamClosed(anotherUpstream: anotherUpstream()))
        case .streamingResponse:
            perform(machine.upstreamClosed(anotherUpstream: false))
        case .tunnel:
            frontEnd.cut()
        case .idle, .connecting, .closed:
            break
        }
    }
}
