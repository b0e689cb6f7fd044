import Foundation
import TestSupport
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// `geofront diff`, run as a user would (see ``CLITests/run(_:stdin:in:)``), on the shipped
/// database and `regions.json`.
@Suite struct DiffCommandTests {
    /// `regions.json` with more regions (inserted after eu-central) and some drained, written to
    /// `folder` with the shipped database's absolute paths.
    static func newConfig(
        in folder: TemporaryDirectory, adding regions: [(String, Double, Double)] = [("eu-west", 51.51, -0.13)],
        draining: Set<String> = []
    ) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(Fixtures.repositoryRoot)/regions.json"))
        var config = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        config["geoip"] = [
            "database": Fixtures.geodata("geofront-country.mmdb"),
            "country_centroids": Fixtures.geodata("country-centroids.json"),
        ]
        var list = (config["regions"] as! [[String: Any]]).map { region in
            var region = region
            if draining.contains(region["name"] as! String) { region["drain"] = true }
            return region
        }
        let after = list.firstIndex { $0["name"] as? String == "eu-central" }! + 1
        list.insert(
            contentsOf: regions.map { name, latitude, longitude in
                [
                    "name": name, "location": ["latitude": latitude, "longitude": longitude],
                    "redirect_url": "https://\(name).example.com",
                ] as [String: Any]
            }, at: after)
        config["regions"] = list
        let json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        return try folder.write("new-regions.json", String(decoding: json, as: UTF8.self))
    }

    static func object(_ run: CLITests.Run) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    @Test func addingARegionFromAFileOfAddresses() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let new = try Self.newConfig(in: folder)
        let list = try folder.write(
            "clients.txt",
            "# GB, IE: nearer London\n81.2.69.142\n2a00:1450:4001::1\n\n193.0.6.139\n8.8.8.8\n203.0.113.7\n")
        let json = try CLITests.run(["diff", "--new-config", new, "--ips", list, "--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try Self.object(json)
        #expect(object["total"] as? Int == 5)
        #expect(object["moved"] as? Int == 2)
        #expect(object["share"] as? Double == 0.4)
        #expect(object["matrix"] as? [String: [String: Int]] == ["eu-central": ["eu-west": 2]])
        #expect(object["countries"] as? [String: Int] == ["GB": 1, "IE": 1])
        #expect(
            object["examples"] as? [String: [String: [String]]]
                == ["eu-central": ["eu-west": ["81.2.69.142", "2a00:1450:4001::1"]]])

        let text = try CLITests.run(["diff", "--new-config", new, "--ips", list])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("5 clients (\(list)): 2 moved (40.0%)\n"))
        #expect(text.stdout.contains("  old  regions.json ("))
        #expect(text.stdout.contains("  eu-central → eu-west        2   40.0%  e.g. 81.2.69.142, 2a00:1450:4001::1\n"))
        #expect(text.stdout.contains("matrix (moved clients; rows: from, columns: to)\n  from \\ to   eu-west\n"))
        #expect(text.stdout.contains("  eu-central        2\n"))
        #expect(text.stdout.contains("  GB            1  of 1 (100.0%)\n"))

        // Standard input, and the reverse change.
        let back = try CLITests.run(
            ["diff", "--config", new, "--new-config", "regions.json", "--ips", "-", "--format", "json"],
            stdin: "81.2.69.142\n8.8.8.8\n")
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try Self.object(back)["matrix"] as? [String: [String: Int]] == ["eu-west": ["eu-central": 1]])
    }

    /// `--svg` draws the moves: one arrow from eu-central to the new eu-west, labelled with its
    /// count, on a well-formed map.
    @Test func theMovesOnAMap() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let new = try Self.newConfig(in: folder)
        let list = try folder.write("clients.txt", "81.2.69.142\n2a00:1450:4001::1\n8.8.8.8\n")
        let map = "\(folder.path)/moves.svg"
        let run = try CLITests.run(["diff", "--new-config", new, "--ips", list, "--svg", map])
        #expect(run.status == 0, "\(run.stderr)")
        let svg = try String(contentsOfFile: map, encoding: .utf8)
        #expect(svg.contains("2 of 3 clients move (66.7%)"))
        #expect(svg.contains(">eu-west<") && svg.contains(">eu-central<"))
        // One move: one quadratic curve (its arrow).
        #expect(svg.components(separatedBy: "Q").count - 1 == 1)
        #expect(XMLParser(data: Data(svg.utf8)).parse())
    }

    @Test func failIfMovedForCI() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let new = try Self.newConfig(in: folder)
        let list = try folder.write("clients.txt", "81.2.69.142\n8.8.8.8\n193.0.6.139\n1.1.1.1\n")
        // One of four moves: 25 %.
        let above = try CLITests.run(["diff", "--new-config", new, "--ips", list, "--fail-if-moved", "20"])
        #expect(above.status == 1)
        #expect(above.stdout.hasPrefix("4 clients"))
        #expect(above.stderr == "geofront: 25.00% of the clients moved, more than --fail-if-moved 20\n")
        let equal = try CLITests.run(["diff", "--new-config", new, "--ips", list, "--fail-if-moved", "25"])
        #expect(equal.status == 0, "\(equal.stderr)")
        let none = try CLITests.run(["diff", "--new-config", "regions.json", "--ips", list, "--fail-if-moved", "0"])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(none.stdout.contains("no client changes region"))

        let bad = try CLITests.run(["diff", "--new-config", new, "--ips", "-"], stdin: "8.8.8.8\nnot-an-ip\n")
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("1 input line(s) were not IP addresses (first: not-an-ip)"))
        let both = try CLITests.run(["diff", "--new-config", new, "--ips", list, "--sample", "5"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("give --ips or --sample, not both"))
        let broken = try folder.write("broken.json", #"{"regions": []}"#)
        let invalid = try CLITests.run(["diff", "--new-config", broken, "--sample", "5"])
        #expect(invalid.status == 1)
        #expect(invalid.stderr.hasPrefix("geofront: \(broken): "))
    }

    @Test func theSampleIsDeterministic() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let new = try Self.newConfig(in: folder)
        let first = try CLITests.run(["diff", "--new-config", new, "--sample", "1500", "--format", "json"])
        let second = try CLITests.run(["diff", "--new-config", new, "--sample", "1500", "--format", "json"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == second.stdout)
        let object = try Self.object(first)
        #expect(object["total"] as? Int == 1500)
        let moved = try #require(object["moved"] as? Int)
        // London takes Western Europe from Frankfurt (and a little from Stockholm).
        let matrix = try #require(object["matrix"] as? [String: [String: Int]])
        #expect(Set(matrix.keys).isSubset(of: ["eu-central", "eu-north"]))
        #expect(matrix["eu-central"]?["eu-west"] ?? 0 > moved / 2)
        #expect(matrix.values.flatMap(\.keys).allSatisfy { $0 == "eu-west" })
        let countries = try #require(object["countries"] as? [String: Int])
        #expect(countries["GB"] ?? 0 > 0 && countries["FR"] ?? 0 > 0 && countries["IE"] ?? 0 > 0)
        #expect(countries.values.reduce(0, +) == moved)
        // A different size is a different sample; the text names the sample.
        let other = try CLITests.run(["diff", "--new-config", new, "--sample", "1499", "--format", "json"])
        #expect(try Self.object(other)["total"] as? Int == 1499)
        let text = try CLITests.run(["diff", "--new-config", new, "--sample", "1500"])
        #expect(text.stdout.hasPrefix("1500 clients (a sample of the old database's networks): \(moved) moved"))
    }

    // MARK: - Against an independent computation

    /// Whether `python3` can import the PyPI package `maxminddb` (the independent side's reader).
    static let pythonHasMaxMindDB: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import maxminddb"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// Runs `scripts/crosscheck --diff OLD NEW … --print` and returns its JSON.
    static func independent(_ arguments: [String]) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", "\(Fixtures.repositoryRoot)/scripts/crosscheck", "--diff"] + arguments + ["--print"]
        process.currentDirectoryURL = URL(fileURLWithPath: Fixtures.repositoryRoot)
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(String(decoding: err, as: UTF8.self))")
        return try #require(try JSONSerialization.jsonObject(with: out) as? [String: Any])
    }

    /// A real change on the shipped database — London and Dubai added, Mumbai drained — gives
    /// the same answer from `geofront diff` as from an independent computation, over the same
    /// addresses: the 3000-address network sample, and 2000 random public addresses.
    ///
    /// The independent side is `scripts/crosscheck --diff` (Python), which shares no code with
    /// GeoFront: it reads the database with the PyPI package `maxminddb` (its own MaxMind DB
    /// reader), draws the sample from that package's own iteration over the database's networks
    /// by the documented rule (the middle of network ⌊(2k+1)·M/(2N)⌋), places each address (the
    /// record's location, else its country's centroid from `country-centroids.json`, else none),
    /// and routes it with its own haversine (mean Earth radius 6371.0088 km) to the nearest
    /// region not drained (`default_region` without a location), once with each configuration.
    /// The clients whose region differs are counted per (old, new) pair, per country of the old
    /// record, with the first three addresses of each pair. Total, moved, matrix, countries and
    /// examples must be equal, exactly.
    @Test(.enabled(if: pythonHasMaxMindDB, "python3 with the maxminddb package"))
    func sameMatrixAsAnIndependentComputation() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let new = try Self.newConfig(
            in: folder, adding: [("eu-west", 51.51, -0.13), ("me-central", 25.20, 55.27)], draining: ["ap-south"])
        let random = "\(folder.path)/random.txt"
        for (theirs, ours) in [
            (["--sample", "3000"], ["--sample", "3000"]),
            (["--count", "2000", "--seed", "11", "--write-ips", random], ["--ips", random]),
        ] {
            let expected = try Self.independent(["regions.json", new] + theirs)
            let run = try CLITests.run(["diff", "--new-config", new, "--format", "json"] + ours)
            #expect(run.status == 0, "\(run.stderr)")
            let got = try Self.object(run)
            let matrix = try #require(expected["matrix"] as? [String: [String: Int]])
            #expect(got["matrix"] as? [String: [String: Int]] == matrix, "\(ours)")
            // A real change: clients move from several regions to several others.
            #expect(matrix.count >= 3 && Set(matrix.values.flatMap(\.keys)).count >= 2, "\(matrix)")
            #expect(got["total"] as? Int == expected["total"] as? Int)
            #expect(got["moved"] as? Int == expected["moved"] as? Int)
            #expect(got["countries"] as? [String: Int] == expected["countries"] as? [String: Int])
            #expect(
                got["examples"] as? [String: [String: [String]]]
                    == expected["examples"] as? [String: [String: [String]]])
        }
    }
}
