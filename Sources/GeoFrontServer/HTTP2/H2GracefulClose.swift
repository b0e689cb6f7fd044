import NIOHTTP2

/// The graceful close of an HTTP/2 client connection (RFC 9113 §6.8), for a drain or the idle
/// timeout, as a state machine ``H2StreamHost`` drives:
/// 1. a GOAWAY `NO_ERROR` naming the largest stream ID, so that no stream the client opens before
///    it learns of the GOAWAY is lost, and a PING;
/// 2. once the client acknowledges that PING (it has read the GOAWAY), a second GOAWAY naming the
///    last stream the client opened: NIOHTTP2 refuses any later one;
/// 3. the connection closes when no stream is open after the second GOAWAY (or at once, with none
///    open); ``H2GoAwayWatch`` closes it anyway after the shutdown grace.
struct H2GracefulClose {
    enum State: Equatable {
        case open
        /// The first GOAWAY and its PING are out.
        case awaitingPingAck
        /// The second GOAWAY is out: the connection ends with its last stream.
        case lastGoAwaySent
    }

    private(set) var state = State.open
    /// The PING that tells the client has read the first GOAWAY.
    let ping: HTTP2PingData

    init(ping: HTTP2PingData = HTTP2PingData(withInteger: .random(in: .min ... .max))) {
        self.ping = ping
    }

    /// Starts the close: the first GOAWAY and the PING to write, or nil when it has started already.
    mutating func start() -> (goAway: HTTP2Frame.FramePayload, ping: HTTP2Frame.FramePayload)? {
        guard state == .open else { return nil }
        state = .awaitingPingAck
        return (.goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil), .ping(ping, ack: false))
    }

    /// A PING acknowledgement with `data` came: the second GOAWAY to write, naming `lastStreamID`,
    /// when it answers the close's own PING.
    mutating func pingAcknowledged(_ data: HTTP2PingData, lastStreamID: HTTP2StreamID) -> HTTP2Frame.FramePayload? {
        guard state == .awaitingPingAck, data == ping else { return nil }
        state = .lastGoAwaySent
        return .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil)
    }

    /// Whether the connection is to close once no stream is open.
    var closesWhenIdle: Bool { state == .lastGoAwaySent }
}
