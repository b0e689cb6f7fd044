import ArgumentParser
import Foundation
import GeoFrontCore
import GeoFrontServer
import GeoIP

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration and open its GeoIP database; exit non-zero on any problem."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let snapshot = try reportingErrors { try options.loadSnapshot() }
        try reportingErrors { try UpstreamTLS.validate(snapshot.config) }
        let certificates = try reportingErrors { try ListenerCertificates.validate(snapshot.config) }
        let config = snapshot.config
        if let routes = config.routes { Self.printRouteWarnings(routes) }
        Self.printWarnings(Self.cacheWarnings(config))
        let metadata = snapshot.database.metadata
        print("\(options.config): OK")
        print("  listen          \(config.listen)")
        if let tls = config.tls {
            print("  tls listen      \(tls.listen)\(tls.redirectHTTP ? " (plain listener redirects to https)" : "")")
            for line in certificates { print("                  \(line)") }
        }
        print("  mode            \(config.mode.rawValue) (redirect status \(config.redirect.status))")
        if config.regions.contains(where: { $0.mode == .proxy }) {
            let proxy = config.proxy
            print(
                "  proxy           connect \(proxy.connectTimeoutMilliseconds) ms, response \(proxy.responseTimeoutMilliseconds) ms, "
                    + "idle \(proxy.idleTimeoutMilliseconds) ms, \(proxy.maxAttempts) attempts, "
                    + "\(proxy.maxConnectionsPerUpstream) connections per upstream per event loop")
            let outlier = proxy.outlierDetection
            print(
                "                  outlier detection: eject after \(outlier.consecutiveFailures) failures"
                    + "\(outlier.count5xx ? " (5xx count)" : ""), for \(outlier.baseEjectionMilliseconds) ms × ejections in a row "
                    + "(≤ \(outlier.maxEjectionMilliseconds) ms), at most \(outlier.maxEjectionPercent)% of a region")
        }
        for line in Self.cacheLines(config) { print(line) }
        print("  database        \(config.geoip.database)")
        print(
            "                  \(metadata.databaseType), built \(metadata.buildDate), IPv\(metadata.ipVersion), \(metadata.nodeCount) nodes"
        )
        if let centroids = config.geoip.countryCentroids {
            print("  centroids       \(centroids) (\(snapshot.database.centroids.count) codes)")
        } else {
            print("  centroids       none (records without coordinates have no location)")
        }
        let trusted = config.trustedProxies.map(\.description).joined(separator: ", ")
        print("  trusted proxies \(trusted.isEmpty ? "none (forwarding headers ignored)" : trusted)")
        print("  default region  \(config.defaultRegion)")
        print("  regions         \(config.regions.count)")
        print("  when all down   \(config.whenAllDown.rawValue)")
        if !config.policies.isEmpty {
            print("  policies        \(config.policies.count) (first match in this order)")
            for policy in config.policies {
                var match: [String] = []
                if !policy.countries.isEmpty {
                    match.append("countries " + policy.countries.map(\.description).joined(separator: ","))
                }
                if !policy.continents.isEmpty {
                    match.append("continents " + policy.continents.map(\.description).joined(separator: ","))
                }
                if !policy.cidrs.isEmpty {
                    match.append("cidrs " + policy.cidrs.map(\.description).joined(separator: ","))
                }
                if !policy.asns.isEmpty { match.append("asns " + policy.asns.map(String.init).joined(separator: ",")) }
                print(
                    "    \(policy.name.padding(20)) \(match.joined(separator: "; ")) → \(policy.regions.joined(separator: ", "))"
                        + (policy.strict ? " (strict: 503 when none is available)" : ""))
            }
        }
        if let routes = config.routes {
            print("  services        \(routes.services.count)")
            for service in routes.services {
                let places = service.regions.map { region in
                    service.mode == .proxy
                        ? "\(region) (\(service.upstreams[region]?.map(\.description).joined(separator: ", ") ?? "-"))"
                        : region
                }
                print("    \(service.name.padding(20)) \(service.mode.rawValue) in \(places.joined(separator: ", "))")
            }
            let fallback = routes.defaultRoute.map { "default_route \($0)" } ?? "no match: 404"
            print("  routes          \(routes.routes.count) (\(fallback))")
            for route in routes.routes {
                let backends = route.backends.map {
                    $0.weight == 1 && route.backends.count == 1 ? $0.service : "\($0.service) \($0.weight)"
                }
                print("    \(route.name.padding(20)) → \(backends.joined(separator: ", "))")
            }
        }
        for region in config.regions {
            let latitude = String(format: "%.4f", region.location.latitude)
            let longitude = String(format: "%.4f", region.location.longitude)
            let target: String
            switch region.mode {
            case .redirect: target = "redirect to " + (region.redirectURL?.base ?? "-")
            case .proxy:
                let weights = region.upstreams.contains { $0.weight != 1 }
                let list = region.upstreams.map { weights ? "\($0) (weight \($0.weight))" : $0.description }
                target = "proxy (\(region.loadBalancing.rawValue)) to " + list.joined(separator: ", ")
            }
            print("    \(region.name.padding(20)) \(latitude.leftPadding(9)), \(longitude.leftPadding(9))  \(target)")
            if region.drain { print("      drained: not chosen while any other region is available") }
            if region.bias != 0 {
                print("      bias \(region.bias): steered by the distance × \(Double(100 - region.bias) / 100)")
            }
            if let capacity = region.capacity {
                let limits = [
                    capacity.maxActiveRequests.map { "\($0) requests in flight" },
                    capacity.maxRequestsPerSecond.map { "\($0) requests per second" },
                ].compactMap { $0 }
                print("      capacity: \(limits.joined(separator: ", ")) per instance, then spill to the next choice")
            }
            guard let check = region.healthCheck, region.isChecked else {
                print("      health: not checked (always available)")
                continue
            }
            let targets = region.healthTargets.map { target in
                check.kind == .http && target.path != nil
                    ? "\(target.tls ? "https" : "http")://\(target.hostHeader ?? target.address.description)\(target.path!)"
                    : target.description
            }.joined(separator: ", ")
            let path = region.healthTargets.first?.path ?? check.path
            let what = check.kind == .http ? "http GET \(path) expecting \(check.expectStatus)" : "tcp connect"
            print(
                "      health: \(what) every \(check.intervalMilliseconds) ms (+≤\(check.jitterMilliseconds) ms jitter), timeout \(check.timeoutMilliseconds) ms, rise \(check.rise), fall \(check.fall)"
            )
            print("      targets: \(targets) (needs \(region.minHealthy) healthy)")
            print(
                "      out of rotation ≤ \(seconds(check.worstCaseDetectionMilliseconds)) after failing "
                    + "((\(check.intervalMilliseconds) + \(check.jitterMilliseconds) + \(check.timeoutMilliseconds)) ms × \(check.fall)); "
                    + "back ≤ \(seconds(check.worstCaseRecoveryMilliseconds)) after recovering "
                    + "((\(check.intervalMilliseconds) + \(check.jitterMilliseconds)) ms × \(check.rise))")
        }
    }

    private func seconds(_ milliseconds: Int) -> String {
        String(format: "%.1f s", Double(milliseconds) / 1000)
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    func leftPadding(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
