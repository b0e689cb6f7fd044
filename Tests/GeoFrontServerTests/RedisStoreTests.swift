import GeoFrontCore
import GeoIP
import Logging
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import GeoFrontServer

/// The Redis client and the rate-limit script against a real `redis-server`.
@Suite(.serialized, .enabled(if: RedisServer.isInstalled, "redis-server is not installed (scripts/test installs it)"))
struct RedisStoreTests {
    /// A ``RedisRateLimitStore`` on an event loop of its own, driven from a test.
    final class StoreRig: Sendable {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let store: NIOLoopBound<RedisRateLimitStore>
        var loop: any EventLoop { store.eventLoop }

        init(_ url: String, timeoutMilliseconds: Int = 2000) async throws {
            var settings = RateLimitStoreSettings(endpoint: try RedisEndpoint.parse(url).get())
            settings.timeoutMilliseconds = timeoutMilliseconds
            let loop = group.next()
            let fixed = settings
            store = try await loop.submit {
                NIOLoopBound(
                    RedisRateLimitStore(
                        settings: fixed, eventLoop: loop, logger: Logger(label: "test"), onReady: { _ in }),
                    eventLoop: loop)
            }.get()
        }

        var isReady: Bool {
            get async throws { try await loop.submit { self.store.value.connection.isReady }.get() }
        }

        var attempts: Int {
            get async throws { try await loop.submit { self.store.value.connection.attempt }.get() }
        }

        func waitUntilReady() async throws {
            try await waitUntil("the connection to Redis to be ready") { try await isReady }
        }

        /// One decision for `client` under `limit` (rate and burst).
        func decide(_ client: String, rate: Double, burst: Double) async throws -> RedisRateLimitStore.Answer {
            let promise = loop.makePromise(of: RedisRateLimitStore.Answer.self)
            let limit = RateLimitSettings(requestsPerSecond: rate, burst: burst)
            try await loop.submit {
                let asked = self.store.value.decide(bucket: IPAddress(client)!, limit: limit) { promise.succeed($0) }
                if !asked { promise.succeed(.failed(.connectionLost)) }
            }.get()
            return try await promise.futureResult.get()
        }

        /// Any command on the store's connection.
        func send(_ words: [String], timeout: TimeAmount = .seconds(5)) async throws -> Result<RESPValue, RedisFailure>
        {
            let promise = loop.makePromise(of: Result<RESPValue, RedisFailure>.self)
            try await loop.submit {
                let sent = self.store.value.connection.send(.command(words), timeout: timeout) { promise.succeed($0) }
                if !sent { promise.succeed(.failure(.connectionLost)) }
            }.get()
            return try await promise.futureResult.get()
        }

        func shutdown() async throws {
            try await loop.submit { self.store.value.shutdown() }.get()
            try await group.shutdownGracefully()
        }
    }

    static func allowed(_ answer: RedisRateLimitStore.Answer) -> Bool {
        if case .allowed = answer { return true }
        return false
    }

    @Test func scriptIsTheTokenBucketWithExpiringKeys() async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let rig = try await StoreRig(redis.url)
        try await rig.waitUntilReady()
        // The connection loaded the script: its SHA-1 is ours.
        #expect(try redis.command(["SCRIPT", "EXISTS", RateLimitScript.sha1]) == "1")
        // Burst 3 at one token an hour: three pass, then 429 with the seconds until a token is back.
        // Redis's clock runs meanwhile (a slow machine may take seconds): every bound below allows
        // exactly the time measured around the calls, so nothing depends on how fast they are.
        let rate = 1.0 / 3600
        let clock = ContinuousClock()
        let start = clock.now
        var answers: [String] = []
        var retryAfter: [Int] = []
        for _ in 0..<5 {
            switch try await rig.decide("198.51.100.7", rate: rate, burst: 3) {
            case .allowed: answers.append("allowed")
            case .limited(let seconds):
                answers.append("limited")
                retryAfter.append(seconds)
            case .failed(let failure): answers.append("failed \(failure)")
            }
        }
        let elapsed = Double((clock.now - start).components.seconds) + 1
        #expect(answers == ["allowed", "allowed", "allowed", "limited", "limited"])
        // 1 token at 1/3600 a second: 3600 s, less what refilled meanwhile, rounded up.
        #expect(retryAfter.allSatisfy { Double($0) <= 3600 && Double($0) >= 3600 - elapsed }, "\(retryAfter)")
        #expect(retryAfter.count == 2 && retryAfter[1] <= retryAfter[0])
        // Another client has a bucket of its own.
        #expect(Self.allowed(try await rig.decide("198.51.100.8", rate: rate, burst: 3)))
        // The bucket's key: the tokens left, and a time to live of burst ÷ rate plus a second.
        let key = RedisRateLimitStore.keyPrefix + "198.51.100.7"
        let tokens = try #require(Double(try redis.command(["HGET", key, "t"])))
        let refilled = (Double((clock.now - start).components.seconds) + 1) * rate
        #expect(tokens >= 0 && tokens <= refilled, "\(tokens) tokens, at most \(refilled) refilled")
        let ttl = try #require(Int(try redis.command(["PTTL", key])))
        #expect(ttl > 0 && ttl <= RateLimitScript.ttlMilliseconds(rate: rate, burst: 3))
        #expect((10_801_000...10_801_001).contains(RateLimitScript.ttlMilliseconds(rate: rate, burst: 3)))
        try await rig.shutdown()
    }

    @Test func aFlushedScriptIsLoadedAgain() async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let rig = try await StoreRig(redis.url)
        try await rig.waitUntilReady()
        #expect(Self.allowed(try await rig.decide("203.0.113.1", rate: 10, burst: 10)))
        #expect(try redis.command(["SCRIPT", "FLUSH"]) == "OK")
        #expect(try redis.command(["SCRIPT", "EXISTS", RateLimitScript.sha1]) == "0")
        // NOSCRIPT, then EVAL with the source (which loads it): still a decision.
        #expect(Self.allowed(try await rig.decide("203.0.113.1", rate: 10, burst: 10)))
        #expect(try redis.command(["SCRIPT", "EXISTS", RateLimitScript.sha1]) == "1")
        try await rig.shutdown()
    }

    @Test func passwordAndDatabase() async throws {
        let redis = try RedisServer(password: "s3cret")
        defer { redis.stop() }
        let rig = try await StoreRig("redis://:s3cret@127.0.0.1:\(redis.port)/3")
        try await rig.waitUntilReady()
        #expect(Self.allowed(try await rig.decide("203.0.113.9", rate: 1, burst: 5)))
        let key = RedisRateLimitStore.keyPrefix + "203.0.113.9"
        #expect(try redis.command(["EXISTS", key], database: 3) == "1")
        #expect(try redis.command(["EXISTS", key], database: 0) == "0")
        try await rig.shutdown()

        // A wrong password: never ready; it keeps trying, with backoff.
        let wrong = try await StoreRig("redis://:wrong@127.0.0.1:\(redis.port)")
        try await waitUntil("two refused logins") { try await wrong.attempts >= 2 }
        #expect(try await wrong.isReady == false)
        if case .failed(let failure) = try await wrong.decide("203.0.113.9", rate: 1, burst: 5) {
            #expect(failure == .connectionLost)
        } else {
            Issue.record("a decision without a connection")
        }
        try await wrong.shutdown()
    }

    @Test func aStalledRedisTimesOutAndARestartedOneIsUsedAgain() async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let rig = try await StoreRig(redis.url, timeoutMilliseconds: 50)
        try await rig.waitUntilReady()
        #expect(Self.allowed(try await rig.decide("192.0.2.1", rate: 10, burst: 10)))
        // Redis holds every client's commands for 3 s: the decision times out (and the late
        // reply, when it comes, is dropped).
        #expect(try redis.command(["CLIENT", "PAUSE", "3000", "ALL"]) == "OK")
        guard case .failed(.timeout) = try await rig.decide("192.0.2.1", rate: 10, burst: 10) else {
            Issue.record("expected a timeout")
            return
        }
        try await waitUntil("Redis to answer again") {
            Self.allowed(try await rig.decide("192.0.2.1", rate: 10, burst: 10))
        }
        // Stopped: the connection is lost and decisions fail at once; restarted: ready again.
        redis.stop()
        try await waitUntil("the lost connection to be noticed") { try await rig.isReady == false }
        guard case .failed(.connectionLost) = try await rig.decide("192.0.2.1", rate: 10, burst: 10) else {
            Issue.record("expected an immediate failure")
            return
        }
        try redis.start()
        try await rig.waitUntilReady()
        #expect(Self.allowed(try await rig.decide("192.0.2.1", rate: 10, burst: 10)))
        try await rig.shutdown()
    }
}
