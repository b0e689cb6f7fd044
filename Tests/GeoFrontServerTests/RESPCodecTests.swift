import NIOCore
import NIOEmbedded
import Testing

@testable import GeoFrontServer

/// The RESP2 encoder and decoder of the Redis client, in an `EmbeddedChannel`.
@Suite struct RESPCodecTests {
    static func decoderChannel(_ limits: RESPDecoder.Limits = .init()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder(limits: limits)))
        return channel
    }

    /// Everything `bytes` decode to, fed in pieces of `step` bytes.
    static func decode(_ bytes: String, step: Int = .max) throws -> [RESPValue] {
        let channel = try decoderChannel()
        let all = Array(bytes.utf8)
        var offset = 0
        var values: [RESPValue] = []
        while offset < all.count {
            let end = min(all.count, offset + step)
            try channel.writeInbound(ByteBuffer(bytes: all[offset..<end]))
            while let value = try channel.readInbound(as: RESPValue.self) { values.append(value) }
            offset = end
        }
        _ = try channel.finish()
        return values
    }

    static func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

    @Test func everyTypeWholeAndByteByByte() throws {
        let wire = "+OK\r\n-ERR wrong\r\n:-42\r\n$5\r\nhe\r\no\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n"
        let expected: [RESPValue] = [
            .simpleString("OK"), .error("ERR wrong"), .integer(-42), Self.bulk("he\r\no"), Self.bulk(""),
            .bulkString(nil), .array(nil), .array([]),
        ]
        #expect(try Self.decode(wire) == expected)
        #expect(try Self.decode(wire, step: 1) == expected)
        #expect(try Self.decode(wire, step: 3) == expected)
    }

    @Test func nestedArrays() throws {
        let wire = "*3\r\n:1\r\n*2\r\n$3\r\nabc\r\n*1\r\n$-1\r\n+x\r\n"
        let expected: [RESPValue] = [
            .array([.integer(1), .array([Self.bulk("abc"), .array([.bulkString(nil)])]), .simpleString("x")])
        ]
        #expect(try Self.decode(wire) == expected)
        #expect(try Self.decode(wire, step: 1) == expected)
    }

    @Test func partialValueWaitsAndConsumesNothing() throws {
        let decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "*2\r\n:1\r\n$3\r\nab")
        #expect(try decoder.decode(&buffer) == nil)
        #expect(buffer.readableBytes == 14)
        buffer.writeString("c\r\n:7\r\n")
        #expect(try decoder.decode(&buffer) == .array([.integer(1), Self.bulk("abc")]))
        #expect(try decoder.decode(&buffer) == .integer(7))
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: [
        ("?x\r\n", "unknown type byte 63"),
        (":12a\r\n", "\"12a\" is not an integer"),
        (":\r\n", "\"\" is not an integer"),
        (":+1\r\n", "\"+1\" is not an integer"),
        (":99999999999999999999\r\n", "\"99999999999999999999\" is not an integer"),
        (":9999999999999999999\r\n", "an integer out of range"),
        ("+OK\rX", "CR not followed by LF"),
        ("+O\nK\r\n", "LF without CR inside a line"),
        ("$3\r\nabcd\r\n", "a bulk string not followed by CRLF"),
        ("$-2\r\n", "a bulk string of -2 bytes (at most 1048576)"),
        ("*-5\r\n", "an array of -5 elements (at most 65536)"),
    ])
    func malformedInputIsRefused(wire: String, reason: String) throws {
        let channel = try Self.decoderChannel()
        #expect(throws: RESPProtocolError(reason)) { try channel.writeInbound(ByteBuffer(string: wire)) }
    }

    @Test func oversizeIsRefusedBeforeItArrives() throws {
        var limits = RESPDecoder.Limits()
        limits.maxBulkBytes = 10
        limits.maxArrayCount = 3
        limits.maxDepth = 2
        limits.maxLineBytes = 8
        limits.maxValueBytes = 48
        let decoder = RESPDecoder(limits: limits)
        func refusal(_ wire: String) -> String? {
            var buffer = ByteBuffer(string: wire)
            do {
                _ = try decoder.decode(&buffer)
                return nil
            } catch {
                return error.reason
            }
        }
        // Refused from the length alone, before the bytes come.
        #expect(refusal("$11\r\n") == "a bulk string of 11 bytes (at most 10)")
        #expect(refusal("$10\r\n0123456789\r\n") == nil)
        #expect(refusal("*4\r\n") == "an array of 4 elements (at most 3)")
        #expect(refusal("*1\r\n*1\r\n*1\r\n:1\r\n") == "arrays nested more than 2 deep")
        #expect(refusal("+123456789") == "a line over 8 bytes")
        #expect(refusal("+12345678\r\n") == nil)
        // A value that keeps coming without ending.
        #expect(refusal("*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$10\r\n012345678") == "a value over 48 bytes")
    }

    @Test func encoderWritesCommandsAndEveryType() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(RESPEncoder()))
        try channel.writeOutbound(RESPValue.command(["EVALSHA", "ab", "1", "k"]))
        #expect(
            try channel.readOutbound(as: ByteBuffer.self)
                == ByteBuffer(string: "*4\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n1\r\n$1\r\nk\r\n"))
        let everything: RESPValue = .array([
            .simpleString("OK"), .error("ERR x"), .integer(-3), .bulkString(nil), .array(nil), Self.bulk("a\r\nb"),
        ])
        try channel.writeOutbound(everything)
        let bytes = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(bytes == ByteBuffer(string: "*6\r\n+OK\r\n-ERR x\r\n:-3\r\n$-1\r\n*-1\r\n$4\r\na\r\nb\r\n"))
        // What the encoder writes, the decoder reads back.
        var copy = bytes
        #expect(try RESPDecoder().decode(&copy) == everything)
        _ = try channel.finish()
    }

    @Test func pipelinedRepliesReachTheirCallbacksInOrder() throws {
        let channel = EmbeddedChannel()
        let handler = RedisPipelineHandler(staleAfter: .seconds(60))
        try channel.pipeline.syncOperations.addHandlers([
            MessageToByteHandler(RESPEncoder()), ByteToMessageHandler(RESPDecoder()), handler,
        ])
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 6379)).wait()
        var replies: [Int: RESPValue] = [:]
        var order: [Int] = []
        for index in 0..<3 {
            let sent = handler.send(.command(["ECHO", String(index)]), timeout: .seconds(60)) { result in
                order.append(index)
                replies[index] = try? result.get()
            }
            #expect(sent)
        }
        #expect(handler.inFlight == 3)
        channel.embeddedEventLoop.run()  // the flush, once for the three
        var written = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { written.writeBuffer(&part) }
        #expect(
            String(buffer: written)
                == "*2\r\n$4\r\nECHO\r\n$1\r\n0\r\n*2\r\n$4\r\nECHO\r\n$1\r\n1\r\n*2\r\n$4\r\nECHO\r\n$1\r\n2\r\n")
        // Two replies in one read, the third split.
        try channel.writeInbound(ByteBuffer(string: "$1\r\n0\r\n-ERR one\r\n$1"))
        #expect(order == [0, 1])
        try channel.writeInbound(ByteBuffer(string: "\r\n2\r\n"))
        #expect(order == [0, 1, 2])
        #expect(replies == [0: Self.bulk("0"), 1: .error("ERR one"), 2: Self.bulk("2")])
        #expect(handler.inFlight == 0)
        // Closing fails what is still waiting.
        var lost: RedisFailure?
        #expect(
            handler.send(.command(["PING"]), timeout: .seconds(60)) { result in
                if case .failure(let failure) = result { lost = failure }
            })
        try channel.close().wait()
        #expect(lost == .connectionLost)
        // Closed: refused at once, with no callback.
        #expect(!handler.send(.command(["PING"]), timeout: .seconds(60)) { _ in Issue.record("called") })
    }

    /// A handler on an embedded channel, connected (so that it sends).
    static func pipeline(staleAfter: TimeAmount) throws -> (EmbeddedChannel, RedisPipelineHandler) {
        let channel = EmbeddedChannel()
        let handler = RedisPipelineHandler(staleAfter: staleAfter)
        try channel.pipeline.syncOperations.addHandlers([
            MessageToByteHandler(RESPEncoder()), ByteToMessageHandler(RESPDecoder()), handler,
        ])
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 6379)).wait()
        return (channel, handler)
    }

    @Test func aTimedOutRequestsLateReplyIsDropped() throws {
        let (channel, handler) = try Self.pipeline(staleAfter: .seconds(3600))
        var first: [Result<RESPValue, RedisFailure>] = []
        var second: [Result<RESPValue, RedisFailure>] = []
        // The first request's deadline has passed by the time its timer runs; the second's has not.
        #expect(handler.send(.command(["GET", "a"]), timeout: .nanoseconds(1)) { first.append($0) })
        #expect(handler.send(.command(["GET", "b"]), timeout: .seconds(3600)) { second.append($0) })
        channel.embeddedEventLoop.advanceTime(to: .now() + .seconds(1))
        #expect(first == [.failure(.timeout)])
        #expect(second.isEmpty)
        #expect(handler.inFlight == 2)
        // The late reply to the first is matched to it and dropped; the second gets its own.
        try channel.writeInbound(ByteBuffer(string: "$1\r\na\r\n$1\r\nb\r\n"))
        #expect(first == [.failure(.timeout)])
        #expect(second == [.success(Self.bulk("b"))])
        #expect(handler.inFlight == 0)
        // A reply nobody asked for: the stream is out of step, the connection closes.
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n"))
        #expect(!channel.isActive)
    }

    @Test func aConnectionWithoutRepliesForTooLongIsClosed() throws {
        let (channel, handler) = try Self.pipeline(staleAfter: .nanoseconds(1))
        var results: [Result<RESPValue, RedisFailure>] = []
        #expect(handler.send(.command(["GET", "a"]), timeout: .nanoseconds(1)) { results.append($0) })
        #expect(handler.send(.command(["GET", "b"]), timeout: .seconds(3600)) { results.append($0) })
        channel.embeddedEventLoop.advanceTime(to: .now() + .seconds(1))
        // The first timed out; the oldest request has waited past `staleAfter`: closed, and the
        // second fails with the connection.
        #expect(results == [.failure(.timeout), .failure(.connectionLost)])
        #expect(!channel.isActive)
    }
}
