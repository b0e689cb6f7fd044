import NIOHTTP2
import Testing

@testable import GeoFrontServer

/// ``H2GracefulClose``: a first GOAWAY naming the largest stream ID with a PING, a second naming
/// the last stream once that PING (and no other) is acknowledged, and only once each.
@Suite struct H2GracefulCloseTests {
    @Test func twoGoAwaysAroundThePing() throws {
        var close = H2GracefulClose(ping: HTTP2PingData(withInteger: 42))
        #expect(!close.closesWhenIdle)
        let started = close.start()
        let first = try #require(started)
        guard case .goAway(let lastStreamID, let code, _) = first.goAway else {
            Issue.record("not a GOAWAY: \(first.goAway)")
            return
        }
        #expect(lastStreamID == .maxID)
        #expect(code == .noError)
        guard case .ping(let data, let ack) = first.ping else {
            Issue.record("not a PING: \(first.ping)")
            return
        }
        #expect(data == HTTP2PingData(withInteger: 42))
        #expect(!ack)
        // Started once only (a drain after the idle timeout, say).
        #expect(close.start() == nil)
        // Another PING's acknowledgement (the client's keepalive answered) changes nothing.
        #expect(close.pingAcknowledged(HTTP2PingData(withInteger: 7), lastStreamID: 9) == nil)
        #expect(!close.closesWhenIdle)
        let acknowledged = close.pingAcknowledged(HTTP2PingData(withInteger: 42), lastStreamID: 9)
        let second = try #require(acknowledged)
        guard case .goAway(let named, let secondCode, _) = second else {
            Issue.record("not a GOAWAY: \(second)")
            return
        }
        #expect(named == 9)
        #expect(secondCode == .noError)
        #expect(close.closesWhenIdle)
        #expect(close.pingAcknowledged(HTTP2PingData(withInteger: 42), lastStreamID: 11) == nil)
    }

    @Test func nothingBeforeTheStart() {
        var close = H2GracefulClose(ping: HTTP2PingData(withInteger: 42))
        #expect(close.pingAcknowledged(HTTP2PingData(withInteger: 42), lastStreamID: 1) == nil)
        #expect(close.state == .open)
    }
}
