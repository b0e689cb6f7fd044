import Foundation

/// A throwaway certificate authority and a server certificate for `localhost`, made with the
/// `openssl` command line tool for TLS tests.
public struct TestCertificates: Sendable {
    public let caCertificate: String
    public let serverCertificate: String
    public let serverKey: String

    /// Creates the files inside `folder` (prefix distinguishes several authorities).
    /// - Parameter rsaServerKey: the server's key is RSA-2048 instead of ECDSA P-256.
    public init(
        in folder: TemporaryDirectory, prefix: String = "test", serverName: String = "localhost",
        rsaServerKey: Bool = false
    ) throws {
        let base = "\(folder.path)/\(prefix)"
        caCertificate = "\(base)-ca.pem"
        serverCertificate = "\(base)-server.pem"
        serverKey = "\(base)-server.key"
        let extensions = try folder.write(
            "\(prefix)-ext.cnf",
            "subjectAltName=DNS:\(serverName)\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
        )
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(
            ["req", "-x509"] + ec + [
                "-keyout", "\(base)-ca.key", "-out", caCertificate, "-days", "2", "-subj", "/CN=GeoFront \(prefix) CA",
            ])
        let serverKeyOptions = rsaServerKey ? ["-newkey", "rsa:2048", "-nodes"] : ec
        try Self.openssl(
            ["req"] + serverKeyOptions + [
                "-keyout", serverKey, "-out", "\(base)-server.csr", "-subj", "/CN=\(serverName)",
            ])
        try Self.openssl([
            "x509", "-req", "-in", "\(base)-server.csr", "-CA", caCertificate, "-CAkey", "\(base)-ca.key",
            "-CAcreateserial", "-out", serverCertificate, "-days", "2", "-extfile", extensions,
        ])
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RawHTTPError("openssl \(arguments.prefix(2).joined(separator: " ")) failed")
        }
    }
}
