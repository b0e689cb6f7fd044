/// One header field line of a stored response.
public struct CacheHeaderField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A stored response's validators, for conditional revalidation. Opaque here.
public struct CacheValidators: Sendable, Equatable {
    public var etag: String?
    public var lastModified: String?

    public init(etag: String? = nil, lastModified: String? = nil) {
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// What ``CacheStore`` keeps: a value that knows what it costs and which purge tags it has.
public protocol CacheStorable: Sendable {
    /// The body's bytes (checked against `max_object_kb`).
    var bodyBytes: Int { get }
    /// Purge tags (from `Surrogate-Key` / `Cache-Tag`).
    var tags: [String] { get }
    /// The bytes this entry counts against `memory_mb` under `key`: everything it keeps alive.
    func accountedBytes(key: CacheKey) -> Int
}

/// A stored response as plain values (the store's tests, tools); the server keeps its own wire-ready
/// form. The freshness rules live elsewhere.
public struct CacheEntry: CacheStorable, Equatable {
    public var status: Int
    public var headers: [CacheHeaderField]
    public var body: [UInt8]
    /// When the request was sent and the response received (seconds, any epoch the caller keeps).
    public var requestTime: Double
    public var responseTime: Double
    /// Purge tags (from `Surrogate-Key` / `Cache-Tag`, parsed by the caller).
    public var tags: [String]
    public var validators: CacheValidators

    public init(
        status: Int, headers: [CacheHeaderField], body: [UInt8], requestTime: Double, responseTime: Double,
        tags: [String] = [], validators: CacheValidators = CacheValidators()
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.requestTime = requestTime
        self.responseTime = responseTime
        self.tags = tags
        self.validators = validators
    }

    /// The fixed bytes accounted per entry on top of its variable parts: the entry and node structs, the
    /// array and string headers, and the index slots (key table, URL and tag indexes). An estimate, on
    /// the high side, so the bound holds for the real heap as well as for the accounting.
    public static let overheadBytes = 256

    public var bodyBytes: Int { body.count }

    /// The bytes this entry counts against `memory_mb` under `key`: body, header names and values,
    /// tags, validators, the key's bytes and `overheadBytes`.
    public func accountedBytes(key: CacheKey) -> Int {
        var total = Self.overheadBytes + body.count + key.bytes.count
        for field in headers { total += field.name.utf8.count + field.value.utf8.count }
        for tag in tags { total += tag.utf8.count }
        total += (validators.etag?.utf8.count ?? 0) + (validators.lastModified?.utf8.count ?? 0)
        return total
    }
}
