import GeoFrontCore
import Metrics
import Prometheus
import Synchronization

/// GeoFront's metrics, through swift-metrics with a Prometheus registry behind them (served at
/// the admin listener's `/metrics`). Made with an explicit factory, so several servers in one
/// process (tests) keep separate registries. Names are listed in the README.
public final class GeoFrontMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    let decisionTimer: Metrics.Timer
    let lookupFound: Metrics.Counter
    let lookupNotFound: Metrics.Counter
    let lookupNoCoordinates: Metrics.Counter
    let openConnections: Metrics.Meter
    let reloadsOK: Metrics.Counter
    let reloadsFailed: Metrics.Counter
    let configGeneration: Metrics.Gauge
    let rateLimited: Metrics.Counter
    let connectionsRefusedTotal: Metrics.Counter
    let connectionsRefusedPerIP: Metrics.Counter
    /// `geofront_send_timeouts_total`: clients disconnected by `server.send_timeout_ms`.
    let sendTimeouts: Metrics.Counter
    /// `geofront_cache_requests_total{result}`, by ``CacheResult``'s raw value.
    let cacheRequests: [Metrics.Counter]
    let cacheBytes: Metrics.Gauge
    let cacheEntries: Metrics.Gauge
    let cacheEvictions: Metrics.Counter
    /// `geofront_cache_not_admitted_total`: new URLs a nearly full store did not take in.
    let cacheNotAdmitted: Metrics.Counter
    /// `geofront_rate_limit_store_decisions_total{result}`: decisions Redis made (`rate_limit.store`).
    let storeAllowed: Metrics.Counter
    let storeLimited: Metrics.Counter
    /// `geofront_rate_limit_store_fallback_total{reason}`: decisions `on_error` made instead, after
    /// no reply within `timeout_ms` (`timeout`) or with Redis unreachable or answering an error (`error`).
    let storeFallbackTimeout: Metrics.Counter
    let storeFallbackError: Metrics.Counter
    /// `geofront_rate_limit_store_connections`: connections to Redis up (one per event loop).
    let storeConnections: Metrics.Meter
    /// `geofront_h2_connections_total`: client connections that chose HTTP/2 (ALPN `h2` or h2c).
    let h2Connections: Metrics.Counter
    /// `geofront_h2_streams_total`: HTTP/2 streams opened by clients (each one request).
    let h2Streams: Metrics.Counter
    /// `geofront_requests_by_protocol_total{protocol="http/1.1"|"h2"}`: requests read, by the
    /// client's protocol (counted per event loop without atomics, brought in at each scrape).
    private let requestsByProtocol: [Metrics.Counter]
    private let requestsByProtocolExported = Mutex([0, 0])

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let fine: [Duration] = [
            .microseconds(1), .microseconds(2), .microseconds(5), .microseconds(10), .microseconds(25),
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(1000), .milliseconds(10),
        ]
        factory.durationHistogramBuckets["geofront_decision_seconds"] = fine
        factory.durationHistogramBuckets["geofront_upstream_response_seconds"] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
            .seconds(10), .seconds(30),
        ]
        self.factory = factory
        decisionTimer = Metrics.Timer(label: "geofront_decision_seconds", factory: factory)
        lookupFound = Metrics.Counter(
            label: "geofront_lookups_total", dimensions: [("outcome", "found")], factory: factory)
        lookupNotFound = Metrics.Counter(
            label: "geofront_lookups_total", dimensions: [("outcome", "not_found")], factory: factory)
        lookupNoCoordinates = Metrics.Counter(
            label: "geofront_lookups_total", dimensions: [("outcome", "no_coordinates")], factory: factory)
        openConnections = Metrics.Meter(label: "geofront_open_connections", factory: factory)
        reloadsOK = Metrics.Counter(label: "geofront_reloads_total", dimensions: [("result", "ok")], factory: factory)
        reloadsFailed = Metrics.Counter(
            label: "geofront_reloads_total", dimensions: [("result", "failed")], factory: factory)
        configGeneration = Metrics.Gauge(label: "geofront_config_generation", factory: factory)
        rateLimited = Metrics.Counter(label: "geofront_rate_limited_total", factory: factory)
        connectionsRefusedTotal = Metrics.Counter(
            label: "geofront_connections_refused_total", dimensions: [("reason", "max_connections")], factory: factory)
        connectionsRefusedPerIP = Metrics.Counter(
            label: "geofront_connections_refused_total", dimensions: [("reason", "max_connections_per_ip")],
            factory: factory)
        sendTimeouts = Metrics.Counter(label: "geofront_send_timeouts_total", factory: factory)
        cacheRequests = CacheResult.allCases.map {
            Metrics.Counter(
                label: "geofront_cache_requests_total", dimensions: [("result", $0.label)], factory: factory)
        }
        cacheBytes = Metrics.Gauge(label: "geofront_cache_bytes", factory: factory)
        cacheEntries = Metrics.Gauge(label: "geofront_cache_entries", factory: factory)
        cacheEvictions = Metrics.Counter(label: "geofront_cache_evictions_total", factory: factory)
        cacheNotAdmitted = Metrics.Counter(label: "geofront_cache_not_admitted_total", factory: factory)
        storeAllowed = Metrics.Counter(
            label: "geofront_rate_limit_store_decisions_total", dimensions: [("result", "allowed")], factory: factory)
        storeLimited = Metrics.Counter(
            label: "geofront_rate_limit_store_decisions_total", dimensions: [("result", "limited")], factory: factory)
        storeFallbackTimeout = Metrics.Counter(
            label: "geofront_rate_limit_store_fallback_total", dimensions: [("reason", "timeout")], factory: factory)
        storeFallbackError = Metrics.Counter(
            label: "geofront_rate_limit_store_fallback_total", dimensions: [("reason", "error")], factory: factory)
        storeConnections = Metrics.Meter(label: "geofront_rate_limit_store_connections", factory: factory)
        h2Connections = Metrics.Counter(label: "geofront_h2_connections_total", factory: factory)
        h2Streams = Metrics.Counter(label: "geofront_h2_streams_total", factory: factory)
        requestsByProtocol = ["http/1.1", "h2"].map {
            Metrics.Counter(
                label: "geofront_requests_by_protocol_total", dimensions: [("protocol", $0)], factory: factory)
        }
    }

    /// `geofront_h2_goaway_total{reason}`: HTTP/2 connections ended with GOAWAY (``H2GoAwayWatch``).
    func h2GoAway(reason: String) -> Metrics.Counter {
        Metrics.Counter(label: "geofront_h2_goaway_total", dimensions: [("reason", reason)], factory: factory)
    }

    /// `geofront_requests_total{region, mode, status}`; callers cache it (see ``LoopMetrics``).
    func requests(region: String, mode: String, status: Int) -> Metrics.Counter {
        Metrics.Counter(
            label: "geofront_requests_total",
            dimensions: [("region", region), ("mode", mode), ("status", String(status))], factory: factory)
    }

    func upstreamResponse(region: String, upstream: String) -> Metrics.Timer {
        Metrics.Timer(
            label: "geofront_upstream_response_seconds", dimensions: [("region", region), ("upstream", upstream)],
            factory: factory)
    }

    func upstreamError(region: String, upstream: String, kind: String) -> Metrics.Counter {
        Metrics.Counter(
            label: "geofront_upstream_errors_total",
            dimensions: [("region", region), ("upstream", upstream), ("kind", kind)], factory: factory)
    }

    /// `geofront_spillover_total{from, to}`: requests a region at its capacity passed on.
    func spillover(from: String, to: String) -> Metrics.Counter {
        Metrics.Counter(
            label: "geofront_spillover_total", dimensions: [("from", from), ("to", to)], factory: factory)
    }

    /// `geofront_route_rollbacks_total{route, backend}`.
    func routeRollback(route: String, backend: String) -> Metrics.Counter {
        Metrics.Counter(
            label: "geofront_route_rollbacks_total", dimensions: [("route", route), ("backend", backend)],
            factory: factory)
    }

    func recordProbe(region: String, target: String, health: TargetHealth) {
        Metrics.Gauge(
            label: "geofront_target_healthy", dimensions: [("region", region), ("target", target)], factory: factory
        )
        .record(health.isHealthy ? 1 : 0)
    }

    func recordHealthTransition(region: String, target: String, healthy: Bool) {
        Metrics.Counter(
            label: "geofront_health_transitions_total",
            dimensions: [("region", region), ("target", target), ("to", healthy ? "healthy" : "unhealthy")],
            factory: factory
        ).increment()
    }

    func recordRegionStatuses(_ snapshot: RoutingSnapshot) {
        for (region, status) in zip(snapshot.regions, snapshot.statuses) {
            Metrics.Gauge(
                label: "geofront_region_available", dimensions: [("region", region.config.id)], factory: factory
            )
            .record(status.isAvailable ? 1 : 0)
        }
        configGeneration.record(Double(snapshot.generation))
    }

    /// Gauges read at scrape time rather than kept up to date on the request path (the cache's size).
    private let collectors = Mutex<[@Sendable () -> Void]>([])

    func addCollector(_ collect: @escaping @Sendable () -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// Brings `geofront_requests_by_protocol_total` up to the loops' counts (totals since the
    /// start: HTTP/1.x, HTTP/2).
    func recordRequestsByProtocol(_ totals: (http1: Int, h2: Int)) {
        requestsByProtocolExported.withLock { exported in
            for (index, total) in [totals.http1, totals.h2].enumerated() where total > exported[index] {
                requestsByProtocol[index].increment(by: Int64(total - exported[index]))
                exported[index] = total
            }
        }
    }

    /// The Prometheus text exposition.
    public func exposition() -> String {
        for collect in collectors.withLock({ $0 }) { collect() }
        return registry.emitToString()
    }
}
