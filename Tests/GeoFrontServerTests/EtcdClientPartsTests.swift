import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GeoFrontServer

/// The parts of the etcd client that need no etcd: the address, the prefix range, the backoff,
/// and the handler's framing of the gateway's answers (whole, or newline-delimited for a watch).
@Suite struct EtcdClientPartsTests {
    @Test func parsesAddresses() throws {
        let plain = try EtcdEndpoint.parse("etcd://127.0.0.1:2379/geofront")
        #expect(plain.host == "127.0.0.1" && plain.port == 2379 && plain.prefix == "/geofront" && !plain.tls)
        #expect(plain.configKey == "/geofront/config")
        #expect(plain.instancesPrefix == "/geofront/instances/")
        let full = try EtcdEndpoint.parse("etcds://ops:p%40ss@[::1]:23790/a/b/")
        #expect(full.host == "::1" && full.port == 23790 && full.prefix == "/a/b" && full.tls)
        #expect(full.user == "ops" && full.password == "p@ss")
        #expect(full.description == "etcds://ops@[::1]:23790/a/b")
        #expect(try EtcdEndpoint.parse("etcd://etcd.internal/x").port == 2379)
        for bad in [
            "etcd://127.0.0.1:2379", "etcd://127.0.0.1:2379/", "etcd://:2379/x", "etcd://h:99999/x", "http://h/x",
        ] {
            #expect(throws: EtcdEndpoint.Invalid.self) { try EtcdEndpoint.parse(bad) }
        }
    }

    /// `etcds://…?ca=PATH[&cert=PATH&key=PATH]`: TLS options, and what is refused.
    @Test func parsesTLSOptions() throws {
        let tls = try EtcdEndpoint.parse(
            "etcds://etcd.internal:2379/fleet?ca=/etc/etcd/ca%20bundle.pem&cert=/c.pem&key=/k.pem")
        #expect(tls.prefix == "/fleet" && tls.tls)
        #expect(tls.caFile == "/etc/etcd/ca bundle.pem" && tls.certificateFile == "/c.pem" && tls.keyFile == "/k.pem")
        #expect(try EtcdEndpoint.parse("etcds://h/x?ca=/a.pem").certificateFile == nil)
        for bad in [
            "etcd://h/x?ca=/a.pem",  // TLS options on a plain address
            "etcds://h/x?ca=",  // no path
            "etcds://h/x?cert=/c.pem",  // a certificate without its key
            "etcds://h/x?ca=/a.pem&verify=no",  // unknown option
        ] {
            #expect(throws: EtcdEndpoint.Invalid.self, "\(bad)") { try EtcdEndpoint.parse(bad) }
        }
    }

    @Test func prefixRangeEnd() {
        #expect(EtcdWire.prefixEnd("/g/instances/") == Data("/g/instances0".utf8).base64EncodedString())
    }

    @Test func backoffDoublesToItsCapWithJitter() {
        var backoff = Backoff(first: .milliseconds(100), cap: .seconds(1))
        let steps: [Int] = [100, 200, 400, 800, 1000, 1000]
        for step in steps {
            let wait = backoff.next()
            #expect(wait >= .milliseconds(step / 2) && wait <= .milliseconds(step))
        }
        backoff.reset()
        #expect(backoff.next() <= .milliseconds(100))
    }

    /// The handler on an embedded channel, with `parts` of an answer written to it; what its
    /// stream gives.
    static func answer(
        _ mode: EtcdHTTPHandler.Mode, status: HTTPResponseStatus = .ok, limit: Int = 1024, _ parts: [String]
    ) async throws -> [String] {
        let (stream, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
        let channel = EmbeddedChannel()
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v3/watch")
        try channel.pipeline.syncOperations.addHandler(
            EtcdHTTPHandler(head: head, body: ByteBuffer(), mode: mode, limit: limit, continuation: continuation))
        try channel.writeInbound(HTTPClientResponsePart.head(HTTPResponseHead(version: .http1_1, status: status)))
        for part in parts { try channel.writeInbound(HTTPClientResponsePart.body(ByteBuffer(string: part))) }
        try channel.writeInbound(HTTPClientResponsePart.end(nil))
        var messages: [String] = []
        for try await message in stream { messages.append(String(decoding: message, as: UTF8.self)) }
        return messages
    }

    @Test func watchAnswersAreSplitIntoMessages() async throws {
        let messages = try await Self.answer(.lines, ["{\"a\":1}\n{\"b\"", ":2}\n\n{\"c\":3}"])
        #expect(messages == [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#])
        let whole = try await Self.answer(.whole, ["{\"a\":", "1}\n"])
        #expect(whole == ["{\"a\":1}\n"])
    }

    @Test func errorsCarryEtcdsMessage() async throws {
        do {
            _ = try await Self.answer(
                .whole, status: .badRequest, [#"{"error":"unexpected EOF","message":"unexpected EOF","code":3}"#])
            Issue.record("a 400 answer was taken")
        } catch let error as EtcdError {
            #expect(error.status == 400 && error.description == "etcd answered 400: unexpected EOF")
        }
    }

    @Test func anAnswerOverTheLimitIsRefused() async throws {
        do {
            _ = try await Self.answer(.whole, limit: 8, ["0123456789"])
            Issue.record("an answer over the limit was taken")
        } catch let error as EtcdError {
            #expect(error.description.contains("larger than 8 bytes"))
        }
    }
}
