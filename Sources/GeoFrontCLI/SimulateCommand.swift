import ArgumentParser
import Foundation
import GeoFrontCore
import GeoIP

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Show how a population of clients would spread over the regions.",
        discussion: """
            Routes every client with the same selector as the front door, offline from the \
            configuration and the GeoIP database, and prints per region the number of clients, \
            their share and the median and 95th-percentile distance to the region. Clients without \
            a location go to default_region: they count toward its clients but not its distances.

            Give client IPs as arguments, in a file (--file, one per line), or on standard input; \
            or generate random public addresses with --random N (the same --seed gives the same \
            addresses). Lines that are not IP addresses are reported on standard error and \
            skipped; the exit status is then 1.

            With --svg FILE, also writes a world map (Natural Earth's coastlines): clients as dots \
            in their region's colour, regions as dots sized by their share.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: ArgumentHelp("Read client IPs from this file, one per line.", valueName: "path"))
    var file: String?

    @Option(name: .long, help: ArgumentHelp("Simulate this many random public addresses.", valueName: "n"))
    var random: Int?

    @Option(name: .long, help: "Seed for --random.")
    var seed: UInt64 = 1

    @Flag(name: .long, help: "Print one JSON object instead of the table.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Write a world map of the result to this SVG file.", valueName: "path"))
    var svg: String?

    @Argument(help: "Client IP addresses (IPv4 or IPv6).")
    var addresses: [String] = []

    func validate() throws {
        if let random, random < 1 { throw ValidationError("--random needs a positive number of addresses") }
    }

    func run() throws {
        let snapshot = try reportingErrors { try options.loadSnapshot() }
        var texts = addresses
        if let file {
            let contents = try reportingErrors { () throws -> String in
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw SimulateError("\(file): cannot read the file")
                }
                return String(decoding: data, as: UTF8.self)
            }
            for line in contents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
                let trimmed = String(line).trimmingWhitespace()
                if !trimmed.isEmpty && !trimmed.hasPrefix("#") { texts.append(trimmed) }
            }
        } else if random == nil {
            texts = addressInputs(texts)
        }

        var ips: [IPAddress] = []
        ips.reserveCapacity(texts.count + (random ?? 0))
        var failures = 0
        for text in texts {
            if let ip = IPAddress(text) {
                ips.append(ip)
            } else {
                failures += 1
                printError("not an IP address: \(text)")
            }
        }
        if let random { ips += TrafficSimulation.randomPublicAddresses(count: random, seed: seed) }
        if ips.isEmpty && failures == 0 {
            printError("no client addresses: give them as arguments, with --file, on standard input or with --random")
            throw ExitCode.failure
        }

        let simulation = TrafficSimulation(snapshot: snapshot, addresses: ips)
        print(json ? simulation.json : table(simulation, snapshot: snapshot))
        if let svg {
            let map = self.map(simulation, snapshot: snapshot)
            try reportingErrors {
                do {
                    try Data(map.utf8).write(to: URL(fileURLWithPath: svg))
                } catch {
                    throw SimulateError("\(svg): cannot write the map (\(error.localizedDescription))")
                }
            }
            if !json { print("map written to \(svg)") }
        }
        if failures > 0 {
            printError("\(failures) input line(s) were not IP addresses")
            throw ExitCode.failure
        }
    }

    private func table(_ simulation: TrafficSimulation, snapshot: RoutingSnapshot) -> String {
        let ipv4 = simulation.clients.count { $0.ip.family == .v4 }
        let source = random.map { _ in ", random with seed \(seed)" } ?? ""
        var lines = [
            "\(simulation.total) clients (\(ipv4) IPv4, \(simulation.total - ipv4) IPv6\(source)), "
                + "database \(snapshot.database.metadata.databaseType)",
            "",
        ]
        let nameWidth = max(6, simulation.regions.map(\.name.count).max() ?? 0)
        func row(_ name: String, _ columns: [String]) -> String {
            name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                + zip(columns, [9, 9, 11, 9]).map { leftPad($0, $1) }.joined()
        }
        lines.append(row("region", ["clients", "share", "median km", "p95 km"]))
        for region in simulation.regions {
            var line = row(
                region.name,
                [
                    String(region.clients), percent(region.share),
                    region.medianKm.map { String(format: "%.0f", $0) } ?? "-",
                    region.p95Km.map { String(format: "%.0f", $0) } ?? "-",
                ])
            if let reason = region.unavailableReason { line += "  (unavailable: \(reason))" }
            lines.append(line)
        }
        let share = simulation.total == 0 ? 0 : Double(simulation.withoutLocation) / Double(simulation.total)
        let noCoordinates = simulation.withoutLocation - simulation.notInDatabase
        lines.append("")
        lines.append(
            "without location: \(simulation.withoutLocation) clients (\(percent(share))): "
                + "\(simulation.notInDatabase) not in the database, \(noCoordinates) without coordinates; "
                + "sent to default_region \(simulation.defaultRegion) (counted above, not in the distances)")
        if simulation.refused > 0 {
            lines.append("refused: \(simulation.refused) clients would get 503 (when_all_down: unavailable)")
        }
        return lines.joined(separator: "\n")
    }

    private func percent(_ share: Double) -> String {
        String(format: "%.1f %%", share * 100)
    }

    private func leftPad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(1, width - text.count)) + text
    }

    private func map(_ simulation: TrafficSimulation, snapshot: RoutingSnapshot) -> String {
        let regions = simulation.regions.enumerated().map { index, region in
            let state = region.isAvailable ? "" : " (unavailable)"
            return WorldMap.RegionMark(
                name: region.name, coordinate: region.coordinate, fill: WorldMap.colour(forRegion: index),
                radius: WorldMap.radius(forShare: region.share),
                label: "\(region.name)  " + String(format: "%.1f %%", region.share * 100) + state)
        }
        let clients = simulation.clients.compactMap { client in
            client.coordinate.map { WorldMap.ClientMark(coordinate: $0, regionIndex: client.regionIndex) }
        }
        let located = simulation.total - simulation.withoutLocation
        let title =
            "GeoFront: \(simulation.total) simulated clients, \(located) located, "
            + "by nearest region (\(snapshot.database.metadata.databaseType))"
        return WorldMap.svg(regions: regions, clients: clients, title: title)
    }
}

/// A message for `reportingErrors`.
private struct SimulateError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
