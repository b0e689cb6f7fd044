import GeoFrontCore
import GeoIP
import NIOCore

/// Where a proxied request goes next: the balancer's pick among the current region's available
/// upstreams, then the nearest untried available proxy region's of the same service, up to
/// `max_attempts`. Used by
/// the ``ProxyExchangeDriver`` when its state machine asks for a connection; a value per request, no
/// allocation.
struct UpstreamAttempts {
    private(set) var regionIndex: Int
    /// The service (index into the snapshot's `services`) whose regions are tried.
    let service: Int
    /// The service's first entry: region bits count from it.
    private let firstEntry: Int
    /// The upstream of the current attempt (-1 before the first).
    private(set) var upstreamIndex = -1
    private(set) var count = 0
    /// Bit sets of tried upstreams (in the current region) and tried regions; indices from 64 on
    /// are never marked, which `max_attempts` bounds.
    private var triedUpstreams: UInt64 = 0
    private var triedRegions: UInt64 = 0

    init(regionIndex: Int, service: Int = 0, firstEntry: Int = 0) {
        self.regionIndex = regionIndex
        self.service = service
        self.firstEntry = firstEntry
        triedRegions = Self.bit(regionIndex - firstEntry)
    }

    /// Picks the next upstream (moving to another region when this one has none left) and counts
    /// it in its balancer's requests in flight; nil when none is left or attempts are used up.
    mutating func next(snapshot: RoutingSnapshot, loop: LoopState, coordinate: Coordinate?) -> Int? {
        guard count < snapshot.config.proxy.maxAttempts else { return nil }
        let regionCount = snapshot.services[service].deployments.count
        var switches = 0
        while true {
            let available = availableUpstreams(snapshot)
            let excluded = triedUpstreams
            if let pick = loop.withBalancer(
                snapshot: snapshot, region: regionIndex,
                { balancer in
                    balancer.pick(available: available, excluded: excluded)
                })
            {
                count += 1
                upstreamIndex = pick
                triedUpstreams |= Self.bit(pick)
                loop.withBalancer(snapshot: snapshot, region: regionIndex) { $0.started(pick) }
                return pick
            }
            guard switches < regionCount,
                let nextRegion = nextRegion(snapshot: snapshot, coordinate: coordinate)
            else { return nil }
            switches += 1
            regionIndex = nextRegion
            triedRegions |= Self.bit(nextRegion - firstEntry)
            triedUpstreams = 0
        }
    }

    /// Whether ``next(snapshot:loop:coordinate:)`` would find an upstream.
    func hasNext(snapshot: RoutingSnapshot, coordinate: Coordinate?) -> Bool {
        guard count < snapshot.config.proxy.maxAttempts else { return false }
        let available = availableUpstreams(snapshot)
        if available.indices.contains(where: { available[$0] && triedUpstreams & Self.bit($0) == 0 }) { return true }
        return nextRegion(snapshot: snapshot, coordinate: coordinate) != nil
    }

    /// The current attempt no longer counts as a request in flight.
    func finished(snapshot: RoutingSnapshot, loop: LoopState) {
        guard upstreamIndex >= 0 else { return }
        let index = upstreamIndex
        loop.withBalancer(snapshot: snapshot, region: regionIndex) { $0.finished(index) }
    }

    /// Tells metrics and outlier detection how the current attempt went: `failure` nil when it
    /// succeeded. Pool exhaustion is counted but says nothing about the upstream's health.
    func record(
        _ failure: UpstreamFailure.Kind?, since start: NIODeadline, snapshot: RoutingSnapshot, loop: LoopState,
        health: ProxyHealthReporter?
    ) {
        guard upstreamIndex >= 0 else { return }
        let region = snapshot.regions[regionIndex]
        if let kind = failure {
            let failure = UpstreamFailure(
                kind, region: region.name, upstream: region.config.upstreams[upstreamIndex].description)
            loop.metrics.upstreamError(region: failure.region, upstream: failure.upstream, kind: failure.metricLabel)
                .increment()
            guard failure.countsAgainstUpstream else { return }
            health?.record(
                snapshot: snapshot, region: regionIndex, upstream: upstreamIndex, failed: true, reason: failure.reason)
        } else {
            loop.upstreamTimer(snapshot: snapshot, region: regionIndex, upstream: upstreamIndex)
                .recordNanoseconds(Int64((NIODeadline.now() - start).nanoseconds))
            health?.record(snapshot: snapshot, region: regionIndex, upstream: upstreamIndex, failed: false, reason: nil)
        }
    }

    /// Which upstreams of the current region may be picked. When no region is available and
    /// `when_all_down` is `nearest`, the first attempt fails open: every upstream counts.
    private func availableUpstreams(_ snapshot: RoutingSnapshot) -> [Bool] {
        let count = snapshot.regions[regionIndex].config.upstreams.count
        let available = snapshot.statuses[regionIndex].upstreamAvailable
        guard available.count == count else { return Array(repeating: true, count: count) }
        if self.count == 0, !available.contains(true), snapshot.config.whenAllDown == .nearest,
            !snapshot.services[service].deployments.contains(where: { snapshot.regions[$0].isAvailable })
        {
            return Array(repeating: true, count: count)
        }
        return available
    }

    /// The next region is the decision's to choose (``RoutingSnapshot/nextProxyRegion``); one
    /// region switch per region at most, so indices from 64 on cannot make it go round.
    private func nextRegion(snapshot: RoutingSnapshot, coordinate: Coordinate?) -> Int? {
        snapshot.nextProxyRegion(after: regionIndex, tried: triedRegions, coordinate: coordinate, service: service)
    }

    @inline(__always)
    private static func bit(_ index: Int) -> UInt64 {
        index < 64 ? 1 << UInt64(index) : 0
    }
}
