import GeoFrontCore
import Testing

@testable import GeoFrontServer

/// The hit path's key bytes are exactly ``CacheKey``'s for every request they cover.
@Suite struct CacheKeyBytesTests {
    @Test(arguments: [
        ("Shop.Example", false, "/a", "x=1"), ("shop.example:80", false, "/", nil),
        ("shop.example:8080", false, "", "q"),
        ("shop.example:443", true, "/p", nil), ("shop.example:", false, "/p", nil),
        ("SHOP.example:443", false, "/p", ""),
    ])
    func theBytesAreCacheKeysBytes(host: String, secure: Bool, path: String, query: String?) {
        for policy in [CacheQueryPolicy.all, .none] {
            for region in [nil, "eu-west"] as [String?] {
                var bytes: [UInt8] = []
                let written = Array(host.utf8).withUnsafeBytes { hostBytes in
                    Array(path.utf8).withUnsafeBytes { pathBytes in
                        query.map { Array($0.utf8) }.withUnsafeOptionalBytes { queryBytes in
                            CacheKeyBytes.write(
                                into: &bytes, secure: secure, host: hostBytes, path: pathBytes, query: queryBytes,
                                policy: policy, region: region.map { Array($0.utf8) })
                        }
                    }
                }
                #expect(written)
                let key = CacheKey(
                    scheme: secure ? "https" : "http", host: host, path: path, query: query, policy: policy,
                    region: region)
                #expect(bytes == key.bytes, "\(host) \(path) \(query ?? "-") \(policy) \(region ?? "-")")
                #expect(bytes.withUnsafeBytes { CacheKey.hash($0) } == key.hash)
            }
        }
    }

    @Test(arguments: ["[::1]:8080", "shop.example:0080", "bücher.example", "a:b:c"])
    func hostsItDoesNotCoverAreLeftToCacheKey(host: String) {
        var bytes: [UInt8] = []
        let written = Array(host.utf8).withUnsafeBytes { hostBytes in
            Array("/".utf8).withUnsafeBytes { path in
                CacheKeyBytes.write(
                    into: &bytes, secure: false, host: hostBytes, path: path, query: nil, policy: .all, region: nil)
            }
        }
        #expect(!written)
    }
}

extension Optional where Wrapped == [UInt8] {
    fileprivate func withUnsafeOptionalBytes<R>(_ body: (UnsafeRawBufferPointer?) -> R) -> R {
        switch self {
        case .some(let bytes): bytes.withUnsafeBytes { body($0) }
        case .none: body(nil)
        }
    }
}
