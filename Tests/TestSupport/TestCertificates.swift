import Foundation

/// A throwaway certificate authority and a server certificate for `localhost`, made with the
/// `openssl` command line tool for TLS tests.
public struct TestCertificates: Sendable {
    public let caCertificate: String
    public let serverCertificate: String
    public let serverKey: String
    private let base: String
    private let folder: TemporaryDirectory

    /// Creates the files inside `folder` (prefix distinguishes several authorities).
    /// - Parameter rsaServerKey: the server's key is RSA-2048 instead of ECDSA P-256.
    /// - Parameter serverIsAlsoClient: the server's certificate may also authenticate a client
    ///   (etcd's JSON gateway connects to etcd itself with it when client certificates are required).
    public init(
        in folder: TemporaryDirectory, prefix: String = "test", serverName: String = "localhost",
        rsaServerKey: Bool = false, serverIsAlsoClient: Bool = false
    ) throws {
        let base = "\(folder.path)/\(prefix)"
        self.base = base
        self.folder = folder
        caCertificate = "\(base)-ca.pem"
        serverCertificate = "\(base)-server.pem"
        serverKey = "\(base)-server.key"
        let extensions = try folder.write(
            "\(prefix)-ext.cnf",
            "subjectAltName=DNS:\(serverName)\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\(serverIsAlsoClient ? ",clientAuth" : "")\n"
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

    /// A client certificate (`extendedKeyUsage=clientAuth`) named `name`, signed by this
    /// authority: the certificate's and the key's paths.
    public func clientCertificate(name: String) throws -> (certificate: String, key: String) {
        let certificate = "\(base)-client-\(name).pem"
        let key = "\(base)-client-\(name).key"
        let extensions = try folder.write(
            "client-\(name)-ext.cnf",
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n")
        try Self.openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
            "\(base)-client-\(name).csr", "-subj", "/CN=\(name)",
        ])
        try Self.openssl([
            "x509", "-req", "-in", "\(base)-client-\(name).csr", "-CA", caCertificate, "-CAkey", "\(base)-ca.key",
            "-CAcreateserial", "-out", certificate, "-days", "2", "-extfile", extensions,
        ])
        return (certificate, key)
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
