import Testing

@testable import GeoFrontCore

/// The proxy exchange's rules, driven event by event with no I/O: retries, replay, where bodies
/// end, which side is reused, which deadline runs.
@Suite struct ExchangeStateMachineTests {
    typealias Machine = ExchangeStateMachine

    static func request(
        body: RequestHead.Body = .none, method idempotent: Bool = true, upgrade: Bool = false, http10: Bool = false,
        keepAlive: Bool = true
    ) -> Machine.Request {
        Machine.Request(
            body: body, idempotent: idempotent, upgrade: upgrade, http10: http10, keepAlive: keepAlive)
    }

    static func feed(_ text: String, _ body: (UnsafeRawBufferPointer) -> (consumed: Int, action: Machine.Action))
        -> (consumed: Int, action: Machine.Action)
    {
        Array(text.utf8).withUnsafeBytes { body($0) }
    }

    @Test func getWithALengthResponse() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        #expect(machine.start(Self.request()) == .connect(report: nil))
        #expect(machine.deadline == .none)  // connect_timeout_ms is the connection's own
        #expect(machine.connected() == .sendRequest)
        #expect(machine.deadline == .response)
        #expect(
            machine.responseHead(status: 200, framing: .contentLength(5), upstreamCloses: false, anotherUpstream: false)
                == .forwardResponseHead(closeClient: false, dechunk: false, complete: false, reuseUpstream: false))
        #expect(machine.deadline == .responseBody)
        let first = Self.feed("hel") { machine.responseBodyBytes($0) }
        #expect(first.consumed == 3 && first.action == .none)
        let rest = Self.feed("loGET") { machine.responseBodyBytes($0) }
        // Bytes past the body's end: the upstream is not to be trusted with another request.
        #expect(rest.consumed == 2 && rest.action == .finish(reuseUpstream: false, closeClient: false))
        #expect(machine.state == .idle)
    }

    @Test func bodylessResponsesCompleteAtTheirHead() {
        // 204, 304, and a 200 to HEAD: the driver reads the framing as none (ResponseHead.framing).
        for status in [204, 304, 200] {
            var machine = Machine(responseTimeoutMilliseconds: 500)
            _ = machine.start(Self.request())
            _ = machine.connected()
            let framing = ResponseHead.Framing.none
            #expect(
                machine.responseHead(status: status, framing: framing, upstreamCloses: false, anotherUpstream: false)
                    == .forwardResponseHead(closeClient: false, dechunk: false, complete: true, reuseUpstream: true))
            #expect(machine.state == .idle)
        }
    }

    @Test func connectFailuresMoveOnUntilNoneIsLeft() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request(body: .contentLength(3), method: false))
        #expect(machine.holdsRequestBody)
        // Nothing was sent: even a POST may go elsewhere.
        #expect(machine.connectFailed(.refused, anotherUpstream: true) == .connect(report: .refused))
        #expect(
            machine.connectFailed(.connectTimeout, anotherUpstream: false)
                == .answer(status: 502, closeClient: true, report: .connectTimeout))
        #expect(machine.state == .idle)
    }

    @Test func aPostThatReachedAnUpstreamIsNotSentAgain() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request(body: .contentLength(2), method: false))
        _ = machine.connected()
        #expect(!machine.keepsRequestBody)
        let body = Self.feed("hi") { machine.requestBodyBytes($0) }
        #expect(body.consumed == 2 && machine.requestComplete)
        #expect(
            machine.upstreamClosed(anotherUpstream: true)
                == .answer(status: 502, closeClient: false, report: .closedBeforeResponse))
    }

    @Test func anIdempotentRequestIsReplayedWhileItsBodyIsKept() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request(body: .contentLength(4)))
        _ = machine.connected()
        #expect(machine.keepsRequestBody)
        _ = Self.feed("data") { machine.requestBodyBytes($0) }
        #expect(machine.deadline == .response)
        #expect(
            machine.timedOut(anotherUpstream: true) == .connect(report: .responseTimeout(milliseconds: 500)))
        #expect(machine.connected() == .sendRequest)
        #expect(
            machine.timedOut(anotherUpstream: false)
                == .answer(status: 504, closeClient: false, report: .responseTimeout(milliseconds: 500)))
    }

    @Test func aBodyOverTheReplayLimitIsNoLongerKept() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request(body: .contentLength(Machine.replayLimit + 1)))
        _ = machine.connected()
        _ = Self.feed(String(repeating: "a", count: Machine.replayLimit)) { machine.requestBodyBytes($0) }
        #expect(machine.keepsRequestBody)
        _ = Self.feed("a") { machine.requestBodyBytes($0) }
        #expect(!machine.keepsRequestBody)
        #expect(
            machine.malformedResponse(anotherUpstream: true)
                == .answer(status: 502, closeClient: false, report: .malformedResponse))
    }

    @Test func chunkedRequestBodiesEndAtTheirLastChunkAndBrokenOnesAre400() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request(body: .chunked, method: false))
        _ = machine.connected()
        #expect(machine.deadline == .requestBody)
        let step = Self.feed("2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n") { machine.requestBodyBytes($0) }
        #expect(step.consumed == 12 && step.action == .none && machine.requestComplete)

        var broken = Machine(responseTimeoutMilliseconds: 500)
        _ = broken.start(Self.request(body: .chunked, method: false))
        _ = broken.connected()
        let bad = Self.feed("zz\r\n") { broken.requestBodyBytes($0) }
        #expect(bad.action == .answer(status: 400, closeClient: true, report: nil))
    }

    @Test func aClientThatStopsSendingItsBodyIsCut() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request(body: .contentLength(10), method: false))
        _ = machine.connected()
        _ = Self.feed("abc") { machine.requestBodyBytes($0) }
        #expect(machine.deadline == .requestBody)
        #expect(machine.timedOut(anotherUpstream: true) == .cut(report: nil))
        #expect(machine.state == .closed)
    }

    @Test func anEarlyAnswerClosesTheClientAndIsNotReused() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request(body: .contentLength(100), method: false))
        _ = machine.connected()
        #expect(
            machine.responseHead(status: 413, framing: .contentLength(2), upstreamCloses: false, anotherUpstream: false)
                == .forwardResponseHead(closeClient: true, dechunk: false, complete: false, reuseUpstream: false))
        #expect(
            Self.feed("no") { machine.responseBodyBytes($0) }.action == .finish(reuseUpstream: false, closeClient: true)
        )
    }

    @Test func informationalHeadsPassOnExceptToHTTP10Clients() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request())
        _ = machine.connected()
        #expect(
            machine.responseHead(status: 103, framing: .none, upstreamCloses: false, anotherUpstream: false)
                == .forwardInformational)
        #expect(machine.state == .awaitingResponse)

        var old = Machine(responseTimeoutMilliseconds: 500)
        _ = old.start(Self.request(http10: true))
        _ = old.connected()
        #expect(old.responseHead(status: 100, framing: .none, upstreamCloses: false, anotherUpstream: false) == .none)
    }

    @Test func http10ClientsGetChunkedBodiesWithoutFramingAndAClose() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request(http10: true))
        _ = machine.connected()
        #expect(
            machine.responseHead(status: 200, framing: .chunked, upstreamCloses: false, anotherUpstream: false)
                == .forwardResponseHead(closeClient: true, dechunk: true, complete: false, reuseUpstream: false))
        var data: [Range<Int>] = []
        let step = Array("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n".utf8).withUnsafeBytes { bytes in
            machine.responseBodyBytes(bytes) { data.append($0) }
        }
        #expect(data == [3..<6, 11..<13])
        #expect(step.action == .finish(reuseUpstream: true, closeClient: true))
    }

    @Test func bodiesUntilCloseEndWithTheUpstream() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request())
        _ = machine.connected()
        #expect(
            machine.responseHead(status: 200, framing: .untilClose, upstreamCloses: true, anotherUpstream: false)
                == .forwardResponseHead(closeClient: true, dechunk: false, complete: false, reuseUpstream: false))
        #expect(machine.upstreamClosed(anotherUpstream: true) == .finish(reuseUpstream: false, closeClient: true))
    }

    @Test func aResponseCutShortCutsTheClient() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request())
        _ = machine.connected()
        _ = machine.responseHead(
            status: 200, framing: .contentLength(10), upstreamCloses: false, anotherUpstream: false)
        #expect(machine.upstreamClosed(anotherUpstream: true) == .cut(report: nil))

        var broken = Machine(responseTimeoutMilliseconds: 500)
        _ = broken.start(Self.request())
        _ = broken.connected()
        _ = broken.responseHead(status: 200, framing: .chunked, upstreamCloses: false, anotherUpstream: false)
        #expect(Self.feed("xyz\r\n") { broken.responseBodyBytes($0) }.action == .cut(report: .malformedBody))

        var stalled = Machine(responseTimeoutMilliseconds: 500)
        _ = stalled.start(Self.request())
        _ = stalled.connected()
        _ = stalled.responseHead(
            status: 200, framing: .contentLength(10), upstreamCloses: false, anotherUpstream: false)
        #expect(stalled.timedOut(anotherUpstream: true) == .cut(report: nil))
    }

    @Test func upgradesBecomeTunnelsOnlyWhenAskedFor() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request(upgrade: true))
        _ = machine.connected()
        #expect(
            machine.responseHead(status: 101, framing: .none, upstreamCloses: false, anotherUpstream: false)
                == .startTunnel)
        #expect(machine.state == .tunnel && machine.deadline == .none)

        // An unasked-for 101 is a broken upstream.
        var unasked = Machine(responseTimeoutMilliseconds: 500)
        _ = unasked.start(Self.request())
        _ = unasked.connected()
        #expect(
            unasked.responseHead(status: 101, framing: .none, upstreamCloses: false, anotherUpstream: true)
                == .connect(report: .malformedResponse))

        // A refused upgrade is answered, and the client's connection ends with it.
        var refused = Machine(responseTimeoutMilliseconds: 500)
        _ = refused.start(Self.request(upgrade: true))
        _ = refused.connected()
        #expect(
            refused.responseHead(status: 400, framing: .none, upstreamCloses: false, anotherUpstream: false)
                == .forwardResponseHead(closeClient: true, dechunk: false, complete: true, reuseUpstream: false))
    }

    @Test func aClientThatAskedToCloseIsClosedAndTheUpstreamCanStay() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        _ = machine.start(Self.request(keepAlive: false))
        _ = machine.connected()
        #expect(
            machine.responseHead(status: 200, framing: .contentLength(1), upstreamCloses: false, anotherUpstream: false)
                == .forwardResponseHead(closeClient: true, dechunk: false, complete: false, reuseUpstream: false))
        #expect(
            Self.feed("x") { machine.responseBodyBytes($0) }.action == .finish(reuseUpstream: true, closeClient: true))
    }

    @Test func eventsOutOfTurnChangeNothing() {
        var machine = Machine(responseTimeoutMilliseconds: 500)
        #expect(machine.connected() == .none)
        #expect(machine.upstreamClosed(anotherUpstream: true) == .none)
        #expect(machine.timedOut(anotherUpstream: true) == .none)
        _ = machine.start(Self.request())
        machine.clientClosed()
        #expect(machine.connected() == .none)
        #expect(machine.state == .closed)
    }
}
