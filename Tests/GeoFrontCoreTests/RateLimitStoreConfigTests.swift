import Foundation
import Testing

@testable import GeoFrontCore

/// `rate_limit.store`: Redis for fleet-wide token buckets.
@Suite struct RateLimitStoreConfigTests {
    static func with(store: Any) -> [String] {
        ConfigLoaderTests.with { $0["rate_limit"] = ["requests_per_second": 5, "store": store] }
    }

    static func parsed(_ store: Any) throws -> RateLimitStoreSettings? {
        var object = ConfigLoaderTests.valid()
        object["rate_limit"] = ["requests_per_second": 5, "store": store]
        return try ConfigLoaderTests.parse(object).rateLimit?.store
    }

    @Test func defaultsAndEveryKey() throws {
        let plain = try #require(try Self.parsed(["redis": "redis://127.0.0.1:6379"]))
        #expect(plain.endpoint == RedisEndpoint(host: "127.0.0.1", port: 6379))
        #expect(plain.timeoutMilliseconds == 5)
        #expect(plain.onError == .local)

        let full = try #require(
            try Self.parsed(["redis": "redis://:s3cret@redis.internal/2", "timeout_ms": 20, "on_error": "deny"]))
        #expect(full.endpoint.host == "redis.internal")
        #expect(full.endpoint.port == 6379)
        #expect(full.endpoint.username == nil)
        #expect(full.endpoint.password == "s3cret")
        #expect(full.endpoint.database == 2)
        #expect(full.endpoint.description == "redis://:***@redis.internal:6379/2")
        #expect(full.timeoutMilliseconds == 20)
        #expect(full.onError == .deny)

        #expect(try Self.parsed(["redis": "redis://[::1]:7000", "on_error": "allow"])?.onError == .allow)
        #expect(try Self.parsed(["redis": "redis://[::1]:7000"])?.endpoint == RedisEndpoint(host: "::1", port: 7000))
        #expect(try Self.parsed(NSNull()) == nil)
        #expect(try Self.parsed(false) == nil)
    }

    @Test func userAndEscapedPassword() throws {
        let endpoint = try RedisEndpoint.parse("redis://geofront:p%40ss%3Aword@10.0.0.5:6380/0").get()
        #expect(endpoint.username == "geofront")
        #expect(endpoint.password == "p@ss:word")
        #expect(endpoint.host == "10.0.0.5")
        #expect(endpoint.port == 6380)
        #expect(endpoint.description == "redis://geofront:***@10.0.0.5:6380")
    }

    @Test func passwordFromTheEnvironment() throws {
        var reader = ConfigReader(baseDirectory: "/")
        let settings = RateLimitStoreSettings.read(
            .object(["redis": .string("redis://127.0.0.1"), "password_env": .string("GF_REDIS")]), reader: &reader,
            environment: ["GF_REDIS": "from-env"])
        #expect(reader.issues.isEmpty)
        #expect(settings?.endpoint.password == "from-env")
        // An ACL user in the URL, its password from the environment.
        var user = ConfigReader(baseDirectory: "/")
        let withUser = RateLimitStoreSettings.read(
            .object(["redis": .string("redis://geofront@127.0.0.1"), "password_env": .string("GF_REDIS")]),
            reader: &user, environment: ["GF_REDIS": "from-env"])
        #expect(user.issues.isEmpty)
        #expect(withUser?.endpoint.username == "geofront")
        #expect(withUser?.endpoint.password == "from-env")

        var unset = ConfigReader(baseDirectory: "/")
        _ = RateLimitStoreSettings.read(
            .object(["redis": .string("redis://127.0.0.1"), "password_env": .string("GF_REDIS")]), reader: &unset,
            environment: [:])
        #expect(
            unset.issues.map(\.description) == [
                "rate_limit.store.password_env: the environment variable GF_REDIS is unset or empty"
            ])
        var both = ConfigReader(baseDirectory: "/")
        _ = RateLimitStoreSettings.read(
            .object(["redis": .string("redis://:x@127.0.0.1"), "password_env": .string("GF_REDIS")]), reader: &both,
            environment: ["GF_REDIS": "y"])
        #expect(
            both.issues.map(\.description) == [
                "rate_limit.store.password_env: the redis URL has a password already: give one or the other"
            ])
    }

    @Test func errorsNameTheKeyAndTheReason() {
        #expect(Self.with(store: [:]) == ["rate_limit.store.redis: is required"])
        #expect(Self.with(store: "redis://127.0.0.1") == ["rate_limit.store: expected an object, found a string"])
        #expect(
            Self.with(store: ["redis": "http://127.0.0.1:6379"]) == [
                "rate_limit.store.redis: is not a Redis URL such as redis://127.0.0.1:6379: must start with redis://, e.g. redis://127.0.0.1:6379"
            ])
        #expect(
            Self.with(store: ["redis": "rediss://127.0.0.1:6379"]) == [
                "rate_limit.store.redis: is not a Redis URL such as redis://127.0.0.1:6379: TLS to Redis (rediss://) is not supported; use redis:// on a private network"
            ])
        // The password is never repeated in a message.
        let badPort = Self.with(store: ["redis": "redis://:hunter2@127.0.0.1:99999"])
        #expect(
            badPort == [
                "rate_limit.store.redis: is not a Redis URL such as redis://127.0.0.1:6379: the port must be a number in 1…65535"
            ])
        #expect(!badPort.joined().contains("hunter2"))
        #expect(
            Self.with(store: ["redis": "redis://127.0.0.1:6379/x"]) == [
                "rate_limit.store.redis: is not a Redis URL such as redis://127.0.0.1:6379: the database after \"/\" must be a number in 0…10000"
            ])
        #expect(
            Self.with(store: ["redis": "redis://@127.0.0.1"]) == [
                "rate_limit.store.redis: is not a Redis URL such as redis://127.0.0.1:6379: nothing before \"@\": give user, :password or user:password"
            ])
        #expect(
            Self.with(store: ["redis": "redis://geofront@127.0.0.1"]) == [
                "rate_limit.store.redis: the user geofront needs a password: in the URL or from password_env"
            ])
        #expect(
            Self.with(store: ["redis": "redis://::1:6379"]) == [
                "rate_limit.store.redis: is not a Redis URL such as redis://127.0.0.1:6379: an IPv6 address needs brackets, e.g. [::1]:8080"
            ])
        #expect(
            Self.with(store: ["redis": "redis://127.0.0.1", "timeout_ms": 0]) == [
                "rate_limit.store.timeout_ms: 0 must be a whole number in 1…10000"
            ])
        #expect(
            Self.with(store: ["redis": "redis://127.0.0.1", "on_error": "fail"]) == [
                #"rate_limit.store.on_error: "fail" is not a choice; allowed: "local", "allow", "deny""#
            ])
        #expect(
            Self.with(store: ["redis": "redis://127.0.0.1", "timout_ms": 5]) == [
                #"rate_limit.store.timout_ms: unknown key (did you mean "timeout_ms"?)"#
            ])
    }
}
