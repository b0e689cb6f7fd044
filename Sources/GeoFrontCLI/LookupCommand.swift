import ArgumentParser
import Foundation
import GeoFrontCore
import GeoIP

struct LookupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup",
        abstract: "Show what the GeoIP database says about addresses (arguments, or one per line on stdin)."
    )

    @OptionGroup var options: ConfigOptions

    @Flag(name: .long, help: "Print one JSON object per address.")
    var json = false

    @Argument(help: "IP addresses (IPv4 or IPv6).")
    var addresses: [String] = []

    func run() throws {
        let database = try reportingErrors { try options.loadSnapshot().database }
        if !json {
            let meta = database.metadata
            print("# \(database.path): \(meta.databaseType), built \(meta.buildDate)")
        }
        var failures = 0
        for text in addressInputs(addresses) {
            guard let ip = IPAddress(text) else {
                failures += 1
                print(
                    json ? "{\"ip\":\(jsonString(text)),\"error\":\"not an IP address\"}" : "\(text): not an IP address"
                )
                continue
            }
            let location = database.lookup(ip)
            print(json ? jsonLine(ip, location) : textLine(ip, location))
        }
        if failures > 0 { throw ExitCode.failure }
    }

    private func textLine(_ ip: IPAddress, _ location: GeoLocation?) -> String {
        guard let location else { return "\(ip): not found" }
        var fields = ["network \(location.network)"]
        fields.append("country \(location.country?.description ?? "-")")
        fields.append("continent \(location.continent?.description ?? "-")")
        if let coordinate = location.coordinate {
            let source = location.coordinateSource == .countryCentroid ? " (country centroid)" : ""
            fields.append(String(format: "location %.4f, %.4f", coordinate.latitude, coordinate.longitude) + source)
        } else {
            fields.append("location -")
        }
        fields.append("accuracy \(location.accuracyRadiusKm.map { "\($0) km" } ?? "-")")
        return "\(ip): " + fields.joined(separator: ", ")
    }

    private func jsonLine(_ ip: IPAddress, _ location: GeoLocation?) -> String {
        guard let location else { return "{\"ip\":\(jsonString(ip.description)),\"found\":false}" }
        func string(_ value: CustomStringConvertible?) -> String { value.map { jsonString($0.description) } ?? "null" }
        let parts = [
            "\"ip\":\(jsonString(ip.description))", "\"found\":true",
            "\"network\":\(jsonString(location.network.description))",
            "\"country\":\(string(location.country))", "\"continent\":\(string(location.continent))",
            "\"latitude\":\(location.coordinate.map { "\($0.latitude)" } ?? "null")",
            "\"longitude\":\(location.coordinate.map { "\($0.longitude)" } ?? "null")",
            "\"accuracy_radius_km\":\(location.accuracyRadiusKm.map { "\($0)" } ?? "null")",
            "\"source\":\(string(location.coordinateSource?.rawValue))",
        ]
        return "{" + parts.joined(separator: ",") + "}"
    }
}
