import Foundation
import GeoFrontCore
import GeoIP

extension AdminServer {
    static let defaultPreviewSample = 10_000
    static let maxPreviewSample = 200_000

    /// `POST /preview[?sample=N]` with a whole candidate `regions.json` as the body: who would
    /// move if it were loaded, as `geofront diff --format json` prints it. Nothing is applied.
    ///
    /// - The candidate is read as a reload would read the configuration file: relative paths
    ///   resolve against the running configuration file's folder (the working directory without
    ///   one), and the command line's overrides (`--db`, `--listen`) apply. A candidate that
    ///   `check-config` would refuse gets 422 with the same problems.
    /// - Old side: the running snapshot, with its live health and drains. New side: the
    ///   candidate with that health carried over as a reload would (targets and regions that
    ///   stay keep their state), so only the change itself moves clients.
    /// - Both sides use the running snapshot's database unless the candidate names other
    ///   database or centroid files (then those are opened and verified, as a reload would).
    /// - Clients: `sample` addresses (default 10,000) spread over the running database's networks
    ///   (``GeoIPDatabase/sampleAddresses(count:)``: the same sample as `geofront diff --sample`).
    func previewAnswer(uri: String, body: [UInt8]) async -> Answer {
        var sample = Self.defaultPreviewSample
        var svg = false
        for (key, value) in Self.split(items: uri).1 {
            switch key {
            case "sample":
                guard let count = Int(value), (1...Self.maxPreviewSample).contains(count) else {
                    return .error(.badRequest, "sample must be a number from 1 to \(Self.maxPreviewSample)")
                }
                sample = count
            case "format":
                guard value == "json" || value == "svg" else { return .error(.badRequest, "format is json or svg") }
                svg = value == "svg"
            case "token": break
            default: return .error(.badRequest, "unknown parameter \(key); allowed: sample, format")
            }
        }
        guard !body.isEmpty else {
            return .error(.badRequest, "send the candidate configuration (a whole regions.json) as the body")
        }
        let folder =
            reloader.map(\.baseDirectory)
            ?? FileManager.default.currentDirectoryPath
        let current = server.publisher.current
        let candidate: RoutingSnapshot
        do {
            var config = try ConfigLoader.parse(Data(body), baseDirectory: folder)
            if let reloader { config = reloader.prepare(config) }
            try UpstreamTLS.validate(config)
            _ = try ListenerCertificates.validate(config)
            let health = HealthMonitor(
                regions: config.deployments, outlierDetection: config.proxy.outlierDetection,
                carryingOver: server.health.monitor)
            candidate = try current.candidate(config, statuses: health.statuses())
        } catch {
            let issues = (error as? ConfigError)?.issues.map { JSONText.string($0.description) } ?? []
            return .json(
                JSONText.object([
                    ("ok", "false"), ("error", JSONText.string("\(error)")),
                    ("issues", "[" + issues.joined(separator: ",") + "]"),
                ]), status: .unprocessableEntity)
        }
        let addresses: [IPAddress]
        do {
            addresses = try current.database.sampleAddresses(count: sample)
        } catch {
            return .error(.internalServerError, "\(error)")
        }
        let diff = DecisionDiff(old: current, new: candidate, addresses: addresses)
        if svg {
            return Answer(status: .ok, contentType: "image/svg+xml", body: diff.map(old: current, new: candidate))
        }
        return .json(diff.json)
    }
}
