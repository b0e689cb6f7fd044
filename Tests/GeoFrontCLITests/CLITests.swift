import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the built `geofront` executable as a user would.
@Suite struct CLITests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static var binary: String {
        // The test bundle sits in the build products folder, beside the executable.
        let products = Bundle.main.bundleURL.deletingLastPathComponent()
        for candidate in [products, products.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("geofront").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "\(Fixtures.repositoryRoot)/.build/debug/geofront"
    }

    static func run(_ arguments: [String], stdin: String? = nil, in directory: String = Fixtures.repositoryRoot)
        throws -> Run
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        let errors = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self))
    }

    static let cityDB = Fixtures.maxmind("GeoLite2-City-Test.mmdb")

    @Test func routeExplainsEachDecision() throws {
        let run = try Self.run(["route", "89.160.20.112", "2001:4860:4860::8888", "10.0.0.1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("89.160.20.112\n  location   62.0000, 15.0000 (SE, EU)"))
        #expect(run.stdout.contains("  region     eu-north, 340.7 km"))
        #expect(run.stdout.contains("2001:4860:4860::8888\n"))
        #expect(run.stdout.contains("  region     us-east"))
        #expect(run.stdout.contains("address not in the database; default_region eu-central"))
        #expect(run.stdout.contains("  distances  eu-north 341 km, eu-central 1378 km"))
    }

    @Test func routeJSONLinesFromStdin() throws {
        let run = try Self.run(
            ["route", "--json", "--db", Self.cityDB], stdin: "81.2.69.142\n\n# comment\n2001:218::1\n10.0.0.1\n")
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects[0]["ip"] as? String == "81.2.69.142")
        #expect(objects[0]["region"] as? String == "eu-central")
        #expect(objects[0]["reason"] as? String == "nearest")
        let location = objects[0]["location"] as! [String: Any]
        #expect(location["latitude"] as? Double == 51.5142)
        #expect(location["longitude"] as? Double == -0.0931)
        #expect(location["country"] as? String == "GB")
        #expect(location["network"] as? String == "81.2.69.142/31")
        #expect(location["source"] as? String == "database")
        #expect(abs((objects[0]["distance_km"] as! Double) - 635.4) < 0.1)
        #expect(objects[1]["region"] as? String == "ap-northeast")
        #expect(objects[2]["location"] is NSNull)
        #expect(objects[2]["distance_km"] is NSNull)
        #expect(objects[2]["reason"] as? String == "no_location")
    }

    @Test func routeReportsBadAddressesButAnswersTheRest() throws {
        let run = try Self.run(["route", "--json", "not-an-ip", "89.160.20.112"])
        #expect(run.status == 1)
        #expect(run.stdout.contains(#"{"ip":"not-an-ip","error":"not an IP address"}"#))
        #expect(run.stdout.contains(#""region":"eu-north""#))
        #expect(run.stderr.contains("1 input line(s) were not IP addresses"))
    }

    @Test func lookupShowsTheRecord() throws {
        let run = try Self.run(["lookup", "--db", Self.cityDB, "81.2.69.142", "::1"])
        #expect(run.status == 0)
        #expect(
            run.stdout.contains(
                "81.2.69.142: network 81.2.69.142/31, country GB, continent EU, location 51.5142, -0.0931, accuracy 10 km"
            ))
        #expect(run.stdout.contains("::1: not found"))
    }

    @Test func checkConfigAcceptsTheShippedConfiguration() throws {
        let run = try Self.run(["check-config"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("regions.json: OK"))
        #expect(run.stdout.contains("GeoFront-Country"))
    }

    @Test func checkConfigNamesTheKeyAndTheReason() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = try folder.write(
            "regions.json",
            """
            {"listen": "127.0.0.1:8080", "geoip": {"database": "\(Self.cityDB)"},
             "regions": [{"name": "a", "location": {"latitude": 123.4, "longitude": 0},
                          "redirect_url": "https://a.example.com"}]}
            """)
        let run = try Self.run(["check-config", "--config", config])
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr == "geofront: \(config): regions[0].location.latitude: 123.4 is outside -90…90\n")
    }

    @Test func corruptDatabaseIsACleanErrorNotACrash() throws {
        let corrupt = Fixtures.maxmind("bad-data/cyclic-data-structure.mmdb")
        for command in [["check-config"], ["route", "1.2.3.4"], ["lookup", "1.2.3.4"]] {
            let run = try Self.run(command + ["--db", corrupt])
            #expect(run.status == 1, "\(command)")
            #expect(run.stderr.hasPrefix("geofront: \(corrupt): "))
            #expect(!run.stderr.contains("Fatal error"))
            #expect(!run.stderr.contains("Backtrace"))
        }
    }

    @Test func missingConfigIsAClearError() throws {
        let run = try Self.run(["check-config", "--config", "/nonexistent/regions.json"])
        #expect(run.status == 1)
        #expect(run.stderr == "geofront: /nonexistent/regions.json: no such file\n")
    }

    @Test func serveRefusesAPortInUse() throws {
        // Hold a port, then ask serve to bind it: a clean error, non-zero exit.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        #expect(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let run = try Self.run(["serve", "--listen", "127.0.0.1:\(port)", "--db", Self.cityDB])
        #expect(run.status == 1)
        #expect(run.stderr.contains("cannot start on 127.0.0.1:\(port)"))
    }
}

@Suite struct CLIHealthTests {
    /// Two regions near London, one with a live target and one with a dead one.
    static func config(in folder: TemporaryDirectory, live: Int, dead: Int) throws -> String {
        try folder.write(
            "regions.json",
            """
            {"listen": "127.0.0.1:0", "geoip": {"database": "\(CLITests.cityDB)"},
             "health_check": {"type": "http", "path": "/healthz", "interval_ms": 2000, "timeout_ms": 500, "rise": 2, "fall": 3},
             "regions": [
               {"name": "eu-west", "location": {"latitude": 51.51, "longitude": -0.13},
                "redirect_url": "https://eu-west.example.test", "targets": ["127.0.0.1:\(dead)"]},
               {"name": "eu-central", "location": {"latitude": 50.11, "longitude": 8.68},
                "redirect_url": "https://eu-central.example.test", "targets": ["127.0.0.1:\(live)"]},
               {"name": "us-east", "location": {"latitude": 39.04, "longitude": -77.49},
                "redirect_url": "https://us-east.example.test", "drain": true}
             ]}
            """)
    }

    @Test func routeProbeExplainsWithLiveHealth() throws {
        let live = try HealthTargetServer(.status(200))
        let dead = try HealthTargetServer(.status(200))
        try dead.stop()
        defer {
            live.shutdown()
            dead.shutdown()
        }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = try Self.config(in: folder, live: live.port, dead: dead.port)

        let run = try CLITests.run(["route", "--probe", "--config", config, "81.2.69.142"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("# eu-west: unavailable: unhealthy: 1 failed check, connection refused"))
        #expect(run.stdout.contains("# eu-central: available"))
        #expect(run.stdout.contains("# us-east: unavailable: drained"))
        #expect(run.stdout.contains("  region     eu-central"))
        #expect(run.stdout.contains("eu-west skipped: unhealthy: 1 failed check, connection refused"))
        #expect(live.requests == 1)

        // Without --probe nothing is probed: the configured state (all healthy but the drained one).
        let offline = try CLITests.run(["route", "--config", config, "81.2.69.142"])
        #expect(offline.stdout.contains("  region     eu-west"))
        #expect(live.requests == 1)
    }

    @Test func checkConfigPrintsTheTimingBounds() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = try Self.config(in: folder, live: 9, dead: 10)
        let run = try CLITests.run(["check-config", "--config", config])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout.contains(
                "out of rotation ≤ 8.1 s after failing ((2000 + 200 + 500) ms × 3); back ≤ 4.4 s after recovering ((2000 + 200) ms × 2)"
            ))
        #expect(run.stdout.contains("health: not checked (always available)"))
        #expect(run.stdout.contains("drained: not chosen while any other region is available"))
    }
}
