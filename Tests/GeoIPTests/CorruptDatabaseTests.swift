import Foundation
import TestSupport
import Testing

@testable import GeoIP

/// Missing, empty and corrupt files are refused at open with an error naming the file.
@Suite struct CorruptDatabaseTests {
    @Test(arguments: Fixtures.corruptDatabases)
    func corruptDatabaseIsRefusedAtOpen(path: String) {
        do {
            let database = try GeoIPDatabase(path: path)
            Issue.record("\(path) opened (\(database.metadata.databaseType)) but is corrupt")
        } catch {
            #expect(error.path == path)
            #expect(error.description.hasPrefix(path + ": "))
            #expect([.invalidDatabase, .corrupt, .unexpectedLayout].contains(error.kind), "\(error)")
        }
    }

    @Test func thereAreCorruptFixtures() {
        #expect(Fixtures.corruptDatabases.count >= 24)
    }

    @Test func missingFile() {
        let path = "/nonexistent/geofront/none.mmdb"
        #expect {
            try GeoIPDatabase(path: path)
        } throws: { error in
            let error = error as! GeoIPError
            return error.kind == .unreadable && error.description == "\(path): No such file or directory"
        }
    }

    @Test func emptyFileDirectoryAndTextFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let empty = try folder.write("empty.mmdb", "")
        let text = try folder.write("text.mmdb", "this is not a MaxMind database\n")
        for (path, kind) in [(empty, GeoIPError.Kind.empty), (folder.path, .unreadable), (text, .invalidDatabase)] {
            #expect {
                try GeoIPDatabase(path: path)
            } throws: { error in
                let error = error as! GeoIPError
                return error.kind == kind && error.path == path
            }
        }
    }

    @Test func truncatedDatabaseIsRefused() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let whole = try Data(contentsOf: URL(fileURLWithPath: Fixtures.maxmind("GeoLite2-City-Test.mmdb")))
        for fraction in [0.1, 0.5, 0.9, 0.99] {
            let path = "\(folder.path)/truncated-\(fraction).mmdb"
            try whole.prefix(Int(Double(whole.count) * fraction)).write(to: URL(fileURLWithPath: path))
            #expect(throws: GeoIPError.self) { try GeoIPDatabase(path: path) }
        }
    }

    @Test func centroidTableErrorsNameTheFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let bad = try folder.write("centroids.json", #"{"countries": {"SE": {"lat": 123, "lon": 15}}}"#)
        #expect {
            try CountryCentroids(contentsOf: bad)
        } throws: { error in
            (error as! GeoIPError).description.hasPrefix("\(bad): countries.SE")
        }
        #expect(throws: GeoIPError.self) { try CountryCentroids(contentsOf: "\(folder.path)/missing.json") }
    }
}
