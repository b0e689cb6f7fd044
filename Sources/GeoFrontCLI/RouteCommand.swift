import ArgumentParser
import Foundation
import GeoFrontCore
import GeoFrontServer
import GeoIP
import NIOPosix

struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Explain where simulated clients would be sent.",
        discussion: """
            Give client IPs as arguments, or one per line on standard input. Each decision shows \
            the location found, the distance to each region, the region chosen and why.

            With --json, prints one JSON object per address (JSON Lines).

            With --probe, first runs one round of health checks against every checked region \
            and explains the decisions with that live health.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Flag(name: .long, help: "Print JSON Lines: ip, region, distance_km, location, reason, candidates.")
    var json = false

    @Flag(name: .long, help: "Run one round of health checks first and route with that live health.")
    var probe = false

    @Argument(help: "Client IP addresses (IPv4 or IPv6). Read from stdin when none are given.")
    var addresses: [String] = []

    func run() async throws {
        var snapshot = try reportingErrors { try options.loadSnapshot() }
        if probe {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let statuses = await HealthChecker.probeOnce(
                regions: snapshot.config.deployments, upstreamTLS: snapshot.config.proxy.upstreamTLS,
                prober: HealthProber(group: group))
            try? await group.shutdownGracefully()
            snapshot = snapshot.with(statuses: statuses)
            if !json {
                for (region, status) in zip(snapshot.config.deployments, statuses)
                where region.isChecked || status.drained {
                    let state = status.unavailableReason.map { "unavailable: \($0)" } ?? "available"
                    print("# \(region.id): \(state)")
                }
                print("")
            }
        }
        var failures = 0
        for text in addressInputs(addresses) {
            guard let ip = IPAddress(text) else {
                failures += 1
                if json {
                    print("{\"ip\":\(jsonString(text)),\"error\":\"not an IP address\"}")
                } else {
                    print("\(text)\n  error      not an IP address\n")
                }
                continue
            }
            let explanation = snapshot.explain(ip)
            print(json ? explanation.json : humanReadable(explanation))
        }
        if failures > 0 {
            printError("\(failures) input line(s) were not IP addresses")
            throw ExitCode.failure
        }
    }

    private func humanReadable(_ explanation: RouteExplanation) -> String {
        var lines = ["\(explanation.ip)"]
        if let location = explanation.location {
            var parts: [String] = []
            if let coordinate = location.coordinate {
                parts.append(String(format: "%.4f, %.4f", coordinate.latitude, coordinate.longitude))
            } else {
                parts.append("no coordinates")
            }
            let place = [location.country?.description, location.continent?.description].compactMap { $0 }
            if !place.isEmpty { parts.append("(\(place.joined(separator: ", ")))") }
            if let radius = location.accuracyRadiusKm { parts.append("±\(radius) km") }
            if location.coordinateSource == .countryCentroid { parts.append("country centroid") }
            parts.append("network \(location.network)")
            lines.append("  location   " + parts.joined(separator: " "))
        } else {
            lines.append("  location   not in the database")
        }
        let distance = explanation.distanceKm.map { String(format: ", %.1f km", $0) } ?? ""
        lines.append("  region     \(explanation.region)\(distance)")
        lines.append("  why        \(explanation.reasonText)")
        let reasons = explanation.decision.reasons
        let answer = explanation.refused ? "503" : explanation.decision.action.rawValue
        lines.append(
            "  answer     \(answer) (client: \(reasons.client.rawValue), lookup: \(reasons.lookup.rawValue), "
                + "region: \(reasons.region.rawValue))")
        if explanation.candidates.first?.distanceKm != nil {
            let list = explanation.candidates.map { candidate in
                let state = candidate.isAvailable ? "" : " (\(candidate.unavailableReason ?? "unavailable"))"
                return String(format: "%@ %.0f km", candidate.region, candidate.distanceKm ?? 0) + state
            }
            lines.append("  distances  " + list.joined(separator: ", "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

func jsonString(_ text: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
    return String(decoding: data, as: UTF8.self)
}
