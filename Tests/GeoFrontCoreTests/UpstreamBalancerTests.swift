import Testing

@testable import GeoFrontCore

@Suite struct UpstreamBalancerTests {
    static func picks(_ balancer: inout UpstreamBalancer, _ count: Int, available: [Bool], excluded: UInt64 = 0)
        -> [Int]
    {
        (0..<count).compactMap { _ in balancer.pick(available: available, excluded: excluded) }
    }

    /// The pools' key: equal configurations hash alike however they were made, and changing any
    /// field (after the cached hash was computed) makes a different key.
    @Test func upstreamConfigsAreKeysByEveryField() {
        let base = UpstreamConfig(address: HostPort(host: "origin.example", port: 443), tls: true)
        var changed = base
        changed.weight = 2
        #expect(changed != base)
        #expect(changed == UpstreamConfig(address: HostPort(host: "origin.example", port: 443), weight: 2, tls: true))
        #expect(changed.hashValue == UpstreamConfig(address: base.address, weight: 2, tls: true).hashValue)
        var edits: [(inout UpstreamConfig) -> Void] = [
            { $0.address.port = 444 }, { $0.tls = false }, { $0.serverName = "other.example" },
            { $0.httpProtocol = .h2 },
        ]
        edits.append { $0.address.host = "origin2.example" }
        var seen: Set<UpstreamConfig> = [base]
        for edit in edits {
            var copy = base
            edit(&copy)
            #expect(copy != base)
            // The cached hash followed the change (a stale one would be the base's).
            #expect(copy.hashValue != base.hashValue)
            seen.insert(copy)
        }
        #expect(seen.count == 6)
    }

    @Test func smoothWeightedRoundRobinInterleaves() {
        var balancer = UpstreamBalancer(policy: .roundRobin, weights: [5, 1, 1])
        // nginx's smooth weighted round-robin: a a b a c a a, never five in a row.
        #expect(Self.picks(&balancer, 7, available: [true, true, true]) == [0, 0, 1, 0, 2, 0, 0])
    }

    @Test func unavailableAndExcludedUpstreamsAreSkipped() {
        var balancer = UpstreamBalancer(policy: .roundRobin, weights: [1, 1, 1])
        #expect(Set(Self.picks(&balancer, 6, available: [true, false, true])) == [0, 2])
        #expect(Set(Self.picks(&balancer, 6, available: [true, true, true], excluded: 0b011)) == [2])
        #expect(balancer.pick(available: [false, false, false]) == nil)
        #expect(balancer.pick(available: [true, true, true], excluded: 0b111) == nil)
    }

    @Test func leastRequestsPrefersTheLessBusy() {
        var balancer = UpstreamBalancer(policy: .leastRequests, weights: [1, 1])
        for _ in 0..<5 { balancer.started(0) }
        // With two upstreams both are always sampled when they differ: the idle one wins.
        var counts = [0, 0]
        for _ in 0..<200 {
            if let pick = balancer.pick(available: [true, true]) { counts[pick] += 1 }
        }
        #expect(counts[1] > counts[0] * 2)
        for _ in 0..<5 { balancer.finished(0) }
        #expect(balancer.inFlight == [0, 0])
    }

    @Test func leastRequestsFollowsWeightsWhenIdle() {
        var balancer = UpstreamBalancer(policy: .leastRequests, weights: [9, 1])
        var counts = [0, 0]
        for _ in 0..<2000 {
            if let pick = balancer.pick(available: [true, true]) { counts[pick] += 1 }
        }
        // Two weighted draws, ties to the first: upstream 0 gets the large majority.
        #expect(counts[0] > counts[1] * 4)
        #expect(counts[1] > 0)
    }
}

/// The typed upstream failure: its metric label, whether it counts against the upstream, and the
/// words people see.
@Suite struct UpstreamFailureTests {
    @Test func kindsMapToLabelsAndRules() {
        let cases: [(UpstreamFailure.Kind, String, Bool, String)] = [
            (.refused, "refused", true, "connection refused"),
            (.connectFailed("no route to host"), "other", true, "no route to host"),
            (.connectTimeout, "timeout", true, "connect timeout"),
            (.poolExhausted, "pool_exhausted", false, "connection pool exhausted"),
            (.responseTimeout(milliseconds: 300), "timeout", true, "no response within 300 ms"),
            (.closedBeforeResponse, "closed", true, "connection closed before a response"),
            (.malformedResponse, "other", true, "malformed response"),
            (.malformedBody, "other", true, "malformed chunked body"),
            (.status(503), "5xx", true, "status 503"),
        ]
        for (kind, label, counts, reason) in cases {
            let failure = UpstreamFailure(kind, region: "eu", upstream: "10.0.0.1:80")
            #expect(failure.metricLabel == label)
            #expect(failure.countsAgainstUpstream == counts)
            #expect(failure.reason == reason)
            #expect(failure.description == "eu 10.0.0.1:80: \(reason)")
        }
    }
}
