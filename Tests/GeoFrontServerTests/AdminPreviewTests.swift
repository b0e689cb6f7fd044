import Foundation
import GeoFrontCore
import TestSupport
import Testing

extension OperationsRig {
    /// `POST path` with `body` and the token, from a thread of its own (the preview is worked
    /// out on the concurrency pool).
    func adminPost(_ path: String, body: String, token: String? = OperationsRig.token) async throws
        -> RawHTTPResponse
    {
        let port = adminPort
        return try await offThePool {
            let client = try RawHTTPClient(port: port)
            let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
            return try client.exchange(
                "POST \(path) HTTP/1.1\r\nHost: admin\r\n\(authorization)Content-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        }
    }

    func previewJSON(_ path: String = "/preview?sample=1000", body: String) async throws -> [String: Any] {
        let response = try await adminPost(path, body: body)
        #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
        return try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }
}

/// Admin `POST /preview`: who a candidate configuration would move, applying nothing. In
/// ``OperationsTests``, which runs its rigs one at a time.
extension OperationsTests {
    /// The rig's configuration without eu-west (London): its clients go elsewhere.
    static func withoutEUWest(database: String) -> String {
        OperationsRig.config(database: database).replacingOccurrences(
            of:
                #"{"name": "eu-west", "location": {"latitude": 51.51, "longitude": -0.13}, "redirect_url": "https://eu-west.example.test"},"#,
            with: "")
    }

    @Test func previewShowsWhoWouldMoveAndAppliesNothing() async throws {
        let rig = try await OperationsRig()
        defer { Task { try await rig.stop() } }
        let candidate = Self.withoutEUWest(database: rig.databasePath)
        #expect(!candidate.contains("eu-west"))

        let preview = try await rig.previewJSON(body: candidate)
        // The City test database has fewer networks than the sample: each network once.
        let networks = try rig.server.publisher.current.database.dataNetworkCount()
        #expect(preview["total"] as? Int == min(1000, networks))
        let moved = try #require(preview["moved"] as? Int)
        #expect(moved > 0)
        let matrix = try #require(preview["matrix"] as? [String: [String: Int]])
        #expect(Array(matrix.keys) == ["eu-west"])
        #expect(matrix["eu-west"]?.values.reduce(0, +) == moved)
        #expect((matrix["eu-west"]?["eu-central"] ?? 0) > 0)
        #expect((preview["countries"] as? [String: Int])?["GB"] ?? 0 > 0)
        #expect(abs((preview["share"] as? Double ?? -1) - Double(moved) / Double(min(1000, networks))) < 1e-6)
        // The same answer as the library gives for the same two snapshots and sample.
        let current = rig.server.publisher.current
        let expected = DecisionDiff(
            old: current,
            new: try current.candidate(try ConfigLoader.parse(Data(candidate.utf8), baseDirectory: rig.folder.path)),
            addresses: try current.database.sampleAddresses(count: 1000))
        let response = try await rig.adminPost("/preview?sample=1000", body: candidate)
        #expect(String(decoding: response.body, as: UTF8.self) == expected.json + "\n")

        // The same moves as a map.
        let map = try await rig.adminPost("/preview?sample=1000&format=svg", body: candidate)
        #expect(map.status == 200 && map.header("content-type") == "image/svg+xml")
        let svg = String(decoding: map.body, as: UTF8.self)
        #expect(svg.hasPrefix("<?xml") && svg.contains("\(moved) of \(min(1000, networks)) clients move"))
        #expect(svg.contains("eu-west (removed)"))
        #expect(try await rig.adminPost("/preview?format=png", body: candidate).status == 400)

        // Nothing changed: London still goes to eu-west, the generation is still 1.
        #expect(try rig.routeLondon().header("x-geofront-region") == "eu-west")
        #expect(try rig.adminJSON("GET", "/status")["generation"] as? Int == 1)

        // The running configuration itself moves nobody; the default sample is 10,000.
        let same = try await rig.previewJSON("/preview", body: OperationsRig.config(database: rig.databasePath))
        #expect(same["moved"] as? Int == 0)
        #expect(same["matrix"] as? [String: [String: Int]] == [:])
    }

    @Test func previewCarriesTheLiveHealthOver() async throws {
        let rig = try await OperationsRig()
        defer { Task { try await rig.stop() } }
        // eu-west drained at run time: its clients are already with eu-central on both sides.
        #expect(try rig.admin("POST", "/regions/eu-west/drain").status == 200)
        let candidate = Self.withoutEUWest(database: rig.databasePath)
        let preview = try await rig.previewJSON(body: candidate)
        #expect(preview["moved"] as? Int == 0)
        // And the unchanged configuration keeps the drain too.
        let same = try await rig.previewJSON(body: OperationsRig.config(database: rig.databasePath))
        #expect(same["moved"] as? Int == 0)
        #expect(try rig.admin("POST", "/regions/eu-west/undrain").status == 200)
        let after = try await rig.previewJSON(body: candidate)
        #expect((after["moved"] as? Int ?? 0) > 0)
    }

    @Test func previewRefusesABadCandidate() async throws {
        let rig = try await OperationsRig()
        defer { Task { try await rig.stop() } }
        // Two problems: the text check-config prints (without the file name: there is none).
        let broken = OperationsRig.config(database: rig.databasePath)
            .replacingOccurrences(of: #""default_region": "eu-central""#, with: #""default_region": "mars""#)
            .replacingOccurrences(of: #""latitude": 50.11"#, with: #""latitude": 150.11"#)
        let response = try await rig.adminPost("/preview", body: broken)
        #expect(response.status == 422)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(object["ok"] as? Bool == false)
        var expected = ""
        do {
            _ = try ConfigLoader.parse(Data(broken.utf8), baseDirectory: rig.folder.path)
        } catch {
            expected = error.description
        }
        #expect(expected.hasPrefix("2 problems\n"))
        #expect(object["error"] as? String == expected)
        #expect((object["issues"] as? [String])?.count == 2)

        // A relative path resolves against the running configuration file's folder.
        let missing = OperationsRig.config(database: "missing.mmdb")
        let refused = try await rig.adminPost("/preview", body: missing)
        #expect(refused.status == 422)
        let text = String(decoding: refused.body, as: UTF8.self)
        #expect(text.contains("\(rig.folder.path)/missing.mmdb: No such file or directory"), "\(text)")
        // The same database by a relative name is fine.
        let relative = try await rig.previewJSON(body: OperationsRig.config(database: "City.mmdb"))
        #expect(relative["moved"] as? Int == 0)

        let notJSON = try await rig.adminPost("/preview", body: "{")
        #expect(notJSON.status == 422)
        #expect(String(decoding: notJSON.body, as: UTF8.self).contains("malformed JSON"))
        #expect(try await rig.adminPost("/preview", body: "").status == 400)
        #expect(try await rig.adminPost("/preview?sample=0", body: broken).status == 400)
        #expect(try await rig.adminPost("/preview?ips=1.2.3.4", body: broken).status == 400)
        #expect(try await rig.adminPost("/preview", body: broken, token: nil).status == 401)
        #expect(try rig.admin("GET", "/preview").status == 405)
        #expect(try rig.adminJSON("GET", "/status")["generation"] as? Int == 1)
    }
}
