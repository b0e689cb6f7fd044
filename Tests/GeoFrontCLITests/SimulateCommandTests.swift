import Foundation
import TestSupport
import Testing

/// `geofront simulate`, run as a user would (see ``CLITests/run(_:stdin:in:)``).
@Suite struct SimulateCommandTests {
    static let regionNames = [
        "us-east", "us-west", "sa-east", "eu-central", "eu-north", "af-south", "ap-south", "ap-southeast",
        "ap-northeast", "au-southeast",
    ]

    @Test func randomClientsOnTheShippedConfigurationWithAMap() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let map = "\(folder.path)/map.svg"
        let run = try CLITests.run(["simulate", "--random", "2000", "--seed", "7", "--svg", map])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("2000 clients ("))
        let rows = run.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        var shares = 0.0
        var clients = 0
        for name in Self.regionNames {
            let row = rows.first { $0.first.map(String.init) == name }
            #expect(row != nil, "no row for \(name)")
            guard let row else { continue }
            clients += Int(row[1]) ?? -1_000_000
            shares += Double(row[2]) ?? -1000
        }
        #expect(clients == 2000)
        #expect(abs(shares - 100) < 0.1 * Double(Self.regionNames.count))
        #expect(run.stdout.contains("without location: "))
        #expect(run.stdout.contains("sent to default_region eu-central"))

        let svg = try String(contentsOfFile: map, encoding: .utf8)
        #expect(svg.hasPrefix("<?xml"))
        #expect(svg.hasSuffix("</svg>\n"))
        for name in Self.regionNames { #expect(svg.contains(">\(name)<"), "\(name) not on the map") }
    }

    @Test func sameSeedSameAnswer() throws {
        let first = try CLITests.run(["simulate", "--json", "--random", "300", "--seed", "3"])
        let second = try CLITests.run(["simulate", "--json", "--random", "300", "--seed", "3"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == second.stdout)
        let object = try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as! [String: Any]
        #expect(object["clients"] as? Int == 300)
        let regions = object["regions"] as! [[String: Any]]
        #expect(regions.map { $0["region"] as? String } == Self.regionNames)
        #expect(regions.reduce(0) { $0 + ($1["clients"] as! Int) } == 300)
    }

    @Test func addressesFromStdinWithABadLine() throws {
        let run = try CLITests.run(
            ["simulate", "--json", "--db", CLITests.cityDB],
            stdin: "81.2.69.142\n# comment\n\nnot-an-ip\n2001:218::1\n10.0.0.1\n")
        #expect(run.status == 1)
        #expect(run.stderr.contains("geofront: not an IP address: not-an-ip\n"))
        #expect(run.stderr.contains("1 input line(s) were not IP addresses"))
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        #expect(object["clients"] as? Int == 3)
        let regions = object["regions"] as! [[String: Any]]
        let counts = Dictionary(uniqueKeysWithValues: regions.map { ($0["region"] as! String, $0["clients"] as! Int) })
        #expect(counts["eu-central"] == 2)  // London, and 10.0.0.1 by default_region
        #expect(counts["ap-northeast"] == 1)
        let without = object["without_location"] as! [String: Any]
        #expect(without["not_in_database"] as? Int == 1)
    }

    @Test func addressesFromAFileAndArguments() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let list = try folder.write("clients.txt", "89.160.20.112\n  175.16.199.1  \n# no\n")
        let run = try CLITests.run(["simulate", "--db", CLITests.cityDB, "--file", list, "216.160.83.58"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("3 clients (3 IPv4, 0 IPv6)"))
        #expect(run.stdout.contains("without location: 0 clients"))
    }

    @Test func nothingToSimulateIsAnError() throws {
        let run = try CLITests.run(["simulate"], stdin: "")
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("geofront: no client addresses"))
        let zero = try CLITests.run(["simulate", "--random", "0"])
        #expect(zero.status != 0)
    }
}
