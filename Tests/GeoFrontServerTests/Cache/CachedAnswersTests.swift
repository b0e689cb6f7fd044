import GeoFrontCore
import NIOCore
import Testing

@testable import GeoFrontServer

/// The answers' `Cache-Status` is written as bytes; it must be exactly ``CacheStatus/fieldValue``.
@Suite struct CachedAnswersTests {
    @Test(arguments: [
        CacheStatus(hit: true, ttl: 42), CacheStatus(hit: true, ttl: -7, detail: "stale-while-revalidate"),
        CacheStatus(forward: .uriMiss, forwardStatus: 200, stored: true),
        CacheStatus(forward: .stale, forwardStatus: 503, ttl: -12, detail: "stale-if-error"),
        CacheStatus(forward: .varyMiss, forwardStatus: 200, collapsed: true),
        CacheStatus(forward: .method, forwardStatus: 201), CacheStatus(forward: .request, detail: "not a token"),
        CacheStatus(forward: .bypass), CacheStatus(forward: .partial, forwardStatus: 206),
        CacheStatus(forward: .uriMiss, forwardStatus: 200, detail: "no-store"),
        CacheStatus(hit: true, forward: .varyMiss, forwardStatus: 599, ttl: Int.min, stored: true, collapsed: true),
    ])
    func theBytesAreTheFieldValue(status: CacheStatus) {
        var out = ByteBuffer()
        CachedAnswers.writeStatus(status, into: &out)
        #expect(out.readString(length: out.readableBytes) == status.fieldValue)
    }
}
