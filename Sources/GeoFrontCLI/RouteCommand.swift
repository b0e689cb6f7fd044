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
            Give client IPs as arguments or with --ip, or one per line on standard input. Each \
            decision shows the location found, the distance to each region, the region chosen and why.

            When the configuration has routes, each client is routed with the request that --method, \
            --host, --path, --header and --cookie describe (default GET / with no host): the route \
            chosen, the routes of higher precedence tried and the field each failed, the backend and \
            how it was picked, then the service's region and the target (redirect Location or \
            upstreams). A backend picked by weight is explained with a fixed draw (the middle of the \
            weights), so the output is reproducible.

            When the configuration has affinity, --cookie gf_region=REGION.TOKEN (the cookie's name \
            as configured) is checked as the front end would: the explanation says whether it keeps \
            the client in its region ("affinity: eu-central (valid)"), why it is ignored ("ignored: bad \
            signature") and which cookie the response would set.

            With --format json (or --json), prints one JSON object per address (JSON Lines).

            With --probe, first runs one round of health checks against every checked region \
            and explains the decisions with that live health.
            """
    )

    @OptionGroup var options: ConfigOptions

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Option(name: .long, help: "text, or json for JSON Lines (ip, region, …, route, tried, backend, target).")
    var format: Format?

    @Flag(name: .long, help: "The same as --format json.")
    var json = false

    @Option(name: .long, help: "A client IP address (repeatable; with the arguments).")
    var ip: [String] = []

    @Option(name: .long, help: "The request's Host (routes by host).")
    var host: String?

    @Option(name: .long, help: "The request's path and query.")
    var path = "/"

    @Option(name: .long, help: "The request's method.")
    var method = "GET"

    @Option(name: .long, help: ArgumentHelp("A request header (repeatable).", valueName: "name:value"))
    var header: [String] = []

    @Option(
        name: .long, help: ArgumentHelp("A cookie (repeatable; sent as one Cookie header).", valueName: "name=value"))
    var cookie: [String] = []

    @Flag(name: .long, help: "Run one round of health checks first and route with that live health.")
    var probe = false

    @Argument(help: "Client IP addresses (IPv4 or IPv6). Read from stdin when none are given (nor --ip).")
    var addresses: [String] = []

    private var jsonLines: Bool { json || format == .json }

    private func question() throws(ValidationError) -> RouteQuestion {
        do {
            return try RouteQuestion(method: method, host: host, path: path, headers: header, cookies: cookie)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func validate() throws {
        if json && format == .text { throw ValidationError("--json and --format text disagree") }
        _ = try question()
    }

    func run() async throws {
        let json = jsonLines
        let question = try question()
        var snapshot = try reportingErrors { try options.loadSnapshot() }
        if snapshot.routes == nil
            && (host != nil || path != "/" || method != "GET" || !header.isEmpty
                || (!cookie.isEmpty && snapshot.affinity == nil))
        {
            printError("note: the configuration has no routes: the request options do not change the decision")
        }
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
        for text in addressInputs(ip + addresses) {
            guard let ip = IPAddress(text) else {
                failures += 1
                if json {
                    print("{\"ip\":\(jsonString(text)),\"error\":\"not an IP address\"}")
                } else {
                    print("\(text)\n  error      not an IP address\n")
                }
                continue
            }
            let explanation = snapshot.explain(ip, question: question)
            print(json ? explanation.json : humanReadable(explanation))
        }
        if failures > 0 {
            printError("\(failures) input line(s) were not IP addresses")
            throw ExitCode.failure
        }
    }

    private func humanReadable(_ explanation: RouteExplanation) -> String {
        var lines = ["\(explanation.ip)"]
        if let routing = explanation.routing {
            lines += routeLines(explanation, routing)
        }
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
        let reasons = explanation.decision.reasons
        guard let region = explanation.region else {
            lines.append("  answer     404 (client: \(reasons.client.rawValue), route: \(reasons.route.rawValue))")
            return lines.joined(separator: "\n") + "\n"
        }
        let distance = explanation.distanceKm.map { String(format: ", %.1f km", $0) } ?? ""
        if let policy = explanation.policy {
            let outcome: String
            switch explanation.decision.reasons.policy {
            case .fellBack: outcome = ": none of its regions is available, the global rule chose"
            case .refused: outcome = ": none of its regions is available, 503"
            case .applied, .none: outcome = ""
            }
            lines.append(
                "  policy     \(policy.name)\(policy.strict ? " (strict)" : ""): regions "
                    + policy.regions.joined(separator: ", ") + outcome)
        }
        lines.append("  region     \(region)\(distance)")
        lines.append("  why        \(explanation.reasonText)")
        if let affinity = explanation.affinityText { lines.append("  affinity   \(affinity)") }
        let votes = explanation.candidates.compactMap { candidate in
            candidate.healthVotes.map { "\(candidate.region): \($0)" }
        }
        if !votes.isEmpty { lines.append("  votes      " + votes.joined(separator: "; ")) }
        let answer = explanation.refused ? "503" : explanation.decision.action.rawValue
        let route = explanation.routing == nil ? "" : ", route: \(reasons.route.rawValue)"
        lines.append(
            "  answer     \(answer) (client: \(reasons.client.rawValue), lookup: \(reasons.lookup.rawValue), "
                + "region: \(reasons.region.rawValue)\(route))")
        if explanation.candidates.first?.distanceKm != nil {
            let list = explanation.candidates.map { candidate in
                let state = candidate.isAvailable ? "" : " (\(candidate.unavailableReason ?? "unavailable"))"
                return String(format: "%@ %.0f km", candidate.region, candidate.distanceKm ?? 0) + state
            }
            lines.append("  distances  " + list.joined(separator: ", "))
        }
        if explanation.routing != nil, !explanation.refused {
            lines.append("  target     \(explanation.target.text)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The request, the route and why, the routes tried, the backend and how it was picked.
    private func routeLines(_ explanation: RouteExplanation, _ routing: RouteExplanation.Routing) -> [String] {
        var lines = ["  request    \(explanation.question.description)"]
        lines.append("  route      \(explanation.routeText ?? "")")
        // Routes for other hosts on one line (there can be many), the others one a line.
        let otherHosts = routing.tried.filter { $0.field == "hosts" }
        if !otherHosts.isEmpty {
            let shown = otherHosts.prefix(8).map { "\($0.route) [\($0.host ?? "")]" }
            let more = otherHosts.count > 8 ? ", and \(otherHosts.count - 8) more" : ""
            lines.append("  tried      hosts: " + shown.joined(separator: ", ") + more)
        }
        for attempt in routing.tried where attempt.field != "hosts" {
            let host = attempt.host.map { " [\($0)]" } ?? ""
            lines.append("  tried      \(attempt.route)\(host): \(attempt.field)")
        }
        if let backend = routing.backend {
            let split =
                backend.split.count == 1
                ? "the route's only backend"
                : "weight \(backend.weight) of \(backend.totalWeight): "
                    + backend.split.map { "\($0.service) \($0.weight)" }.joined(separator: ", ")
            lines.append("  backend    \(backend.service) (\(split))")
            // A lone backend without a sticky key was not picked by anything.
            if backend.split.count > 1 || backend.sticky != nil { lines.append("  by         \(backend.byText)") }
        }
        return lines
    }
}

func jsonString(_ text: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
    return String(decoding: data, as: UTF8.self)
}
