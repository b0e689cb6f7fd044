import Foundation

/// Paths of the files tests use, all inside this repository.
public enum Fixtures {
    /// The repository root (the folder holding Package.swift).
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url.path
            }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// A file under `Tests/Fixtures/maxmind/` (MaxMind's public test databases).
    public static func maxmind(_ name: String) -> String {
        "\(repositoryRoot)/Tests/Fixtures/maxmind/\(name)"
    }

    /// A file under `Tests/Fixtures/` (the project's own test databases, with the script that
    /// made each named in its header comment).
    public static func fixture(_ name: String) -> String {
        "\(repositoryRoot)/Tests/Fixtures/\(name)"
    }

    /// A file under `geodata/`.
    public static func geodata(_ name: String) -> String {
        "\(repositoryRoot)/geodata/\(name)"
    }

    /// The corrupt databases a reader must refuse.
    public static var corruptDatabases: [String] {
        let badData = maxmind("bad-data")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: badData)) ?? []
        return names.filter { $0.hasSuffix(".mmdb") }.sorted().map { "\(badData)/\($0)" } + [
            maxmind("MaxMind-DB-test-broken-pointers-24.mmdb"),
            maxmind("MaxMind-DB-test-broken-search-tree-24.mmdb"),
            maxmind("GeoIP2-City-Test-Invalid-Node-Count.mmdb"),
        ]
    }
}

/// A fresh folder under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("geofront-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    /// Writes `contents` to `name` inside the folder and returns its path.
    @discardableResult
    public func write(_ name: String, _ contents: String) throws -> String {
        let file = "\(path)/\(name)"
        try contents.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
