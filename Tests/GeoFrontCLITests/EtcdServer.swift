import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A real etcd (Debian's `etcd-server`, `/usr/bin/etcd`) on free loopback ports with a data
/// folder of its own, for the fleet tests; plus the few calls of its JSON gateway they make
/// directly (puts that `geofront config push` would refuse, reading instance records).
/// `stop()` and `start()` again keep the ports and the data, as an outage does.
final class EtcdServer: @unchecked Sendable {
    static let binary = "/usr/bin/etcd"
    let clientPort: Int
    let peerPort: Int
    let folder: String
    let prefix = "/geofront-test"
    /// With `tls`: a second client listener over HTTPS (the first stays plain for the tests' own calls).
    let tlsPort: Int?
    private let tls: TestCertificates?
    private let clientCertificates: Bool
    private var process: Process?
    /// Sent with every call once `enableAuthentication` has run.
    private var token: String?

    /// Starts etcd in `folder` and waits until it answers.
    /// `clientCertificates`: the HTTPS listener asks for a client certificate signed by `tls`'s authority.
    init(folder: String, tls: TestCertificates? = nil, clientCertificates: Bool = false) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw RawHTTPError("\(Self.binary) is missing: install Debian's etcd-server (scripts/test does)")
        }
        self.folder = folder
        self.tls = tls
        self.clientCertificates = clientCertificates
        clientPort = try LoopbackPort.free()
        peerPort = try LoopbackPort.free()
        tlsPort = tls == nil ? nil : try LoopbackPort.free()
        try start()
    }

    /// `etcd://127.0.0.1:PORT/geofront-test`.
    var url: String { "etcd://127.0.0.1:\(clientPort)\(prefix)" }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        var client = "http://127.0.0.1:\(clientPort)"
        if let tlsPort { client += ",https://127.0.0.1:\(tlsPort)" }
        let peer = "http://127.0.0.1:\(peerPort)"
        process.arguments = [
            "--name", "test", "--data-dir", "\(folder)/etcd-data", "--listen-client-urls", client,
            "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "test=\(peer)",
        ]
        if let tls { process.arguments! += ["--cert-file", tls.serverCertificate, "--key-file", tls.serverKey] }
        if let tls, clientCertificates {
            process.arguments! += ["--client-cert-auth", "--trusted-ca-file", tls.caCertificate]
        }
        let logPath = "\(folder)/etcd.log"
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        try waitUntilBlocking("etcd to answer on port \(clientPort)") {
            guard process.isRunning else {
                throw RawHTTPError("etcd exited: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
            }
            return (try? call("/v3/kv/range", ["key": Self.base64("/")])) != nil
        }
    }

    /// SIGTERM, then waits for the exit.
    func stop() {
        guard let process else { return }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        self.process = nil
    }

    /// Puts `value` at `PREFIX/name`; the new revision.
    @discardableResult
    func put(_ name: String, _ value: String) throws -> Int64 {
        let answer = try call("/v3/kv/put", ["key": Self.base64(prefix + "/" + name), "value": Self.base64(value)])
        let header = answer["header"] as? [String: Any]
        return Int64(header?["revision"] as? String ?? "") ?? 0
    }

    /// Deletes `PREFIX/name`.
    func delete(_ name: String) throws {
        _ = try call("/v3/kv/deleterange", ["key": Self.base64(prefix + "/" + name)])
    }

    /// The value and mod revision at `PREFIX/name`.
    func get(_ name: String) throws -> (value: String, revision: Int64)? {
        let answer = try call("/v3/kv/range", ["key": Self.base64(prefix + "/" + name)])
        guard let kv = (answer["kvs"] as? [[String: Any]])?.first else { return nil }
        return (Self.unbase64(kv["value"]), Int64(kv["mod_revision"] as? String ?? "") ?? 0)
    }

    /// Adds `root` with `password`, turns authentication on and logs in as root.
    func enableAuthentication(password: String) throws {
        _ = try call("/v3/auth/user/add", ["name": "root", "password": password])
        _ = try call("/v3/auth/role/add", ["name": "root"])
        _ = try call("/v3/auth/user/grant", ["user": "root", "role": "root"])
        _ = try call("/v3/auth/enable", [:])
        token = try call("/v3/auth/authenticate", ["name": "root", "password": password])["token"] as? String
    }

    /// One instance's record, as the tests read it.
    struct Record: Sendable, Equatable {
        let revision: Int64?
        let refusedRevision: Int64?
        let refusedError: String?
    }

    /// The instance records under `PREFIX/instances/`, by instance id.
    func instances() throws -> [String: Record] {
        let start = prefix + "/instances/"
        let end = prefix + "/instances0"  // "/" + 1
        let answer = try call("/v3/kv/range", ["key": Self.base64(start), "range_end": Self.base64(end)])
        var records: [String: Record] = [:]
        for kv in answer["kvs"] as? [[String: Any]] ?? [] {
            let key = Self.unbase64(kv["key"])
            let object = try JSONSerialization.jsonObject(with: Data(Self.unbase64(kv["value"]).utf8))
            let record = object as? [String: Any] ?? [:]
            let refused = record["refused"] as? [String: Any]
            records[String(key.dropFirst(start.count))] = Record(
                revision: (record["revision"] as? NSNumber)?.int64Value,
                refusedRevision: (refused?["revision"] as? NSNumber)?.int64Value,
                refusedError: refused?["error"] as? String)
        }
        return records
    }

    /// The health votes under `PREFIX/health/`: per instance id, each vote's `up`, by region and
    /// target (`REGION TARGET`).
    func healthVotes() throws -> [String: [String: Bool]] {
        let start = prefix + "/health/"
        let end = prefix + "/health0"  // "/" + 1
        let answer = try call("/v3/kv/range", ["key": Self.base64(start), "range_end": Self.base64(end)])
        var votes: [String: [String: Bool]] = [:]
        for kv in answer["kvs"] as? [[String: Any]] ?? [] {
            let key = Self.unbase64(kv["key"])
            let instance = String(key.dropFirst(start.count).split(separator: "/").first ?? "")
            let object = try JSONSerialization.jsonObject(with: Data(Self.unbase64(kv["value"]).utf8))
            let vote = object as? [String: Any] ?? [:]
            let name = "\(vote["region"] as? String ?? "?") \(vote["target"] as? String ?? "?")"
            votes[instance, default: [:]][name] = (vote["up"] as? Bool) ?? (vote["up"] as? NSNumber)?.boolValue ?? false
        }
        return votes
    }

    private func call(_ path: String, _ body: [String: String]) throws -> [String: Any] {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        let client = try RawHTTPClient(port: clientPort, timeoutSeconds: 5)
        let authorization = token.map { "Authorization: \($0)\r\n" } ?? ""
        guard
            client.send(
                "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\(authorization)Connection: close\r\n\r\n\(json)"
            )
        else { throw RawHTTPError("etcd closed the connection") }
        let response = try client.readResponse(decodeChunked: true)
        guard response.status == 200 else {
            throw RawHTTPError("etcd answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
    }

    private static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    private static func unbase64(_ value: Any?) -> String {
        String(decoding: Data(base64Encoded: value as? String ?? "") ?? Data(), as: UTF8.self)
    }
}
