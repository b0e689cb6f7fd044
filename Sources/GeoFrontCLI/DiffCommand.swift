import ArgumentParser
import Foundation
import GeoFrontCore
import GeoIP

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Preview who moves: compare two configurations' (or databases') decisions over the same clients.",
        discussion: """
            Decides every client address with the old configuration (--config, --db) and the new one \
            (--new-config, --new-db) and reports how many clients change region and what share, a \
            from → to matrix of the moves, the countries that move most (by the old database) and a \
            few example addresses per move. A 503 answer (when_all_down: unavailable with no region \
            available) counts as the region "unavailable". Regions are at their initial health \
            (available unless drained); nothing is probed.

            Both sides use the request path's decision without a request: with routes, each region's \
            own upstreams (the default service) answer, so route and split changes do not show here \
            (use `geofront route` for those).

            Clients: --ips FILE (one address per line, blank lines and # comments skipped; - for \
            standard input), or --sample N (default 10000): N addresses spread evenly over the old \
            database's networks. The networks are taken in address order (IPv4 and IPv6, each \
            network once); the k-th address is the middle of network ⌊(2k+1)·M/(2N)⌋ of the M \
            (every network once when N ≥ M). The same database and N always give the same sample.

            --db applies to both sides unless --new-db is given. With --fail-if-moved PCT the exit \
            status is 1 when more than PCT percent of the clients move (for CI).
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(name: .customLong("new-config"), help: "Path of the new configuration file.")
    var newConfig: String

    @Option(
        name: .customLong("new-db"), help: "The new side's .mmdb file (default: --db, else the new configuration's).")
    var newDB: String?

    @Option(name: .long, help: ArgumentHelp("Client addresses, one a line (- for standard input).", valueName: "file"))
    var ips: String?

    @Option(
        name: .long, help: ArgumentHelp("A deterministic sample of N addresses from the old database.", valueName: "n"))
    var sample: Int?

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Option(name: .long, help: "text, or json ({total, moved, share, matrix, countries, examples}).")
    var format: Format = .text

    @Option(
        name: .customLong("fail-if-moved"),
        help: ArgumentHelp("Exit 1 when more than this percentage of the clients move.", valueName: "pct"))
    var failIfMoved: Double?

    @Option(name: .long, help: "Example addresses shown per move.")
    var examples = 3

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also write a world map of the moves (SVG): an arrow per from → to pair, thicker for more clients.",
            valueName: "file"))
    var svg: String?

    static let defaultSample = 10_000

    func validate() throws {
        if ips != nil && sample != nil { throw ValidationError("give --ips or --sample, not both") }
        if let sample, sample < 1 { throw ValidationError("--sample must be at least 1") }
        if let failIfMoved, !(0...100).contains(failIfMoved) {
            throw ValidationError("--fail-if-moved is a percentage, 0 to 100")
        }
        if examples < 0 { throw ValidationError("--examples cannot be negative") }
    }

    func run() throws {
        let old = try reportingErrors { try options.loadSnapshot() }
        let new = try reportingErrors {
            var config = try ConfigLoader.load(path: newConfig)
            if let database = newDB ?? options.db { config.geoip.database = database }
            return try old.candidate(config)
        }
        let addresses = try reportingErrors { try clients(database: old.database) }
        let diff = DecisionDiff(old: old, new: new, addresses: addresses, examplesPerCell: examples)
        print(format == .json ? diff.json : text(diff, old: old, new: new))
        if let svg {
            try reportingErrors {
                try diff.map(old: old, new: new).write(toFile: svg, atomically: true, encoding: .utf8)
            }
        }
        if let failIfMoved, diff.share * 100 > failIfMoved {
            printError(
                String(
                    format: "%.2f%% of the clients moved, more than --fail-if-moved %g", diff.share * 100, failIfMoved))
            throw ExitCode.failure
        }
    }

    private struct NotAnAddress: Error, CustomStringConvertible {
        let lines: [String]
        var description: String {
            "\(lines.count) input line(s) were not IP addresses (first: \(lines[0]))"
        }
    }

    private func clients(database: GeoIPDatabase) throws -> [IPAddress] {
        guard let ips else { return try database.sampleAddresses(count: sample ?? Self.defaultSample) }
        let text: String
        if ips == "-" {
            var lines: [String] = []
            while let line = readLine() { lines.append(line) }
            text = lines.joined(separator: "\n")
        } else {
            do {
                text = try String(contentsOfFile: ips, encoding: .utf8)
            } catch {
                throw ValidationError("\(ips): cannot be read")
            }
        }
        var addresses: [IPAddress] = []
        var bad: [String] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = String(line).trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if let address = IPAddress(trimmed) { addresses.append(address) } else { bad.append(trimmed) }
        }
        if !bad.isEmpty { throw NotAnAddress(lines: bad) }
        return addresses
    }

    private func text(_ diff: DecisionDiff, old: RoutingSnapshot, new: RoutingSnapshot) -> String {
        func percent(_ part: Int, of whole: Int) -> String {
            String(format: "%.1f%%", whole == 0 ? 0 : 100 * Double(part) / Double(whole))
        }
        let source = ips.map { $0 == "-" ? "standard input" : $0 } ?? "a sample of the old database's networks"
        var lines = [
            "\(diff.total) clients (\(source)): \(diff.moved) moved (\(percent(diff.moved, of: diff.total)))",
            "  old  \(options.config) (\(old.database.path))",
            "  new  \(newConfig) (\(new.database.path))",
        ]
        let cells = diff.cells
        guard !cells.isEmpty else { return (lines + ["", "no client changes region"]).joined(separator: "\n") }
        lines += ["", "moves"]
        let width = max(4, cells.map { $0.from.count + $0.to.count + 3 }.max() ?? 0)
        for cell in cells {
            let move = "\(cell.from) → \(cell.to)"
            let examples = diff.examples[cell.from]?[cell.to] ?? []
            lines.append(
                "  \(move.padding(width))  \(String(cell.clients).leftPadding(7))  "
                    + "\(percent(cell.clients, of: diff.total).leftPadding(6))"
                    + (examples.isEmpty ? "" : "  e.g. " + examples.joined(separator: ", ")))
        }
        // The matrix: rows the old regions clients left, columns where they went.
        let rows = diff.regionOrder.filter { diff.matrix[$0] != nil }
        let columns = diff.regionOrder.filter { name in diff.matrix.values.contains { $0[name] != nil } }
        let first = max(9, rows.map(\.count).max() ?? 0)
        let cellWidth = columns.map { max($0.count, 5) }
        lines += ["", "matrix (moved clients; rows: from, columns: to)"]
        lines.append(
            "  " + "from \\ to".padding(first) + zip(columns, cellWidth).map { "  " + $0.leftPadding($1) }.joined())
        for row in rows {
            let counts = zip(columns, cellWidth).map { column, width in
                "  " + (diff.matrix[row]?[column].map(String.init) ?? "·").leftPadding(width)
            }
            lines.append("  " + row.padding(first) + counts.joined())
        }
        lines += ["", "countries that moved most"]
        for country in diff.rankedCountries.prefix(10) {
            lines.append(
                "  \(country.code.padding(7)) \(String(country.moved).leftPadding(7))  of \(country.of) "
                    + "(\(percent(country.moved, of: country.of)))")
        }
        if diff.countries.count > 10 { lines.append("  … and \(diff.countries.count - 10) more countries") }
        return lines.joined(separator: "\n")
    }
}
