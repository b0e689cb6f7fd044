import COpenSSLCrypto

/// The token bucket of ``RateLimiter`` as a Redis Lua script, so that one decision is one atomic
/// round trip (`EVALSHA`) for the whole fleet.
///
/// `KEYS[1]` is the bucket (a hash: `t` tokens, `u` last update in microseconds); `ARGV` are the
/// rate (tokens a second), the burst, and the key's time to live in milliseconds. The reply is
/// `{1, 0}` (allowed) or `{0, seconds}` (limited; the seconds until a token is back, at least 1).
///
/// Time is Redis's own clock (`TIME`), not the instances': with each instance's clock, one that
/// runs ahead would refill every bucket it touches early and one behind would hold them back, so
/// the limit would depend on clock skew across the fleet. One clock for everyone keeps the bucket
/// exact. (Scripts that read `TIME` and then write are replicated by their effects: the default
/// since Redis 5, and asked for explicitly on older servers.)
///
/// An idle bucket refills completely in burst ÷ rate seconds, and a missing key is a full bucket,
/// so keys expire one second after that and idle clients cost Redis nothing.
enum RateLimitScript {
    static let source = """
        if redis.replicate_commands then pcall(redis.replicate_commands) end
        local rate = tonumber(ARGV[1])
        local burst = tonumber(ARGV[2])
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
        local state = redis.call('HMGET', KEYS[1], 't', 'u')
        local tokens = tonumber(state[1])
        local updated = tonumber(state[2])
        if tokens == nil or updated == nil then
          tokens = burst
          updated = now
        end
        local elapsed = now - updated
        if elapsed < 0 then elapsed = 0 end
        tokens = math.min(burst, tokens + elapsed * rate / 1000000)
        local allowed = 0
        local wait = 0
        if tokens >= 1 then
          tokens = tokens - 1
          allowed = 1
        else
          wait = math.max(1, math.ceil((1 - tokens) / rate))
        end
        redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'u', string.format('%.0f', now))
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return {allowed, wait}
        """

    /// The script's SHA-1 in hexadecimal, as `SCRIPT LOAD` answers and `EVALSHA` takes it.
    static let sha1: String = {
        var digest = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        let bytes = Array(source.utf8)
        let ok = EVP_Digest(bytes, bytes.count, &digest, &length, EVP_sha1(), nil)
        precondition(ok == 1 && length == 20, "SHA-1 of the rate-limit script")
        return digest.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }()

    /// The time to live of a bucket's key: until it would be full again, plus a second.
    static func ttlMilliseconds(rate: Double, burst: Double) -> Int {
        Int((burst / rate * 1000).rounded(.up)) + 1000
    }
}
