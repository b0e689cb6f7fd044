import Foundation
import GeoFrontCore
import NIOConcurrencyHelpers
import NIOSSL

/// The TLS listener's certificates, loaded and checked as a set, swapped whole on reload. The
/// listener's handshake callback picks one per client hello by SNI, so a reload changes the
/// certificate for new handshakes while open connections keep theirs.
public final class ListenerCertificates: Sendable {
    struct Loaded: Sendable {
        let chain: [NIOSSLCertificate]
        /// The key handshakes sign with: an RSA key through the system's libcrypto
        /// (``SystemRSASigningKey``), any other as swift-nio-ssl loaded it.
        let key: NIOSSLPrivateKey
        /// The RSA key's system signer, when it has one (tests, check-config).
        let systemSigner: SystemRSASigningKey?
        /// DNS names from the subject alternative names, lower-cased (`*.example.com` kept).
        let names: [String]
        /// The leaf certificate's end of validity.
        let expiry: Date
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    private let current: NIOLockedValueBox<[Loaded]>

    init(_ loaded: [Loaded]) {
        current = NIOLockedValueBox(loaded)
    }

    /// Loads every certificate of `settings`: readable PEM files, a key that fits the certificate,
    /// not expired. Any problem is an error naming the file; nothing partial is returned.
    static func load(_ settings: TLSListenerSettings, now: Date = Date()) throws -> [Loaded] {
        try settings.certificates.enumerated().map { index, files in
            let path = "tls.certificates[\(index)]"
            let chain: [NIOSSLCertificate]
            let key: NIOSSLPrivateKey
            do {
                chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
            } catch {
                throw LoadError(
                    description: "\(path).certificate: \(files.certificate): not a readable PEM certificate (\(error))")
            }
            guard let leaf = chain.first else {
                throw LoadError(description: "\(path).certificate: \(files.certificate): no certificate in the file")
            }
            do {
                key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
            } catch {
                throw LoadError(
                    description: "\(path).private_key: \(files.privateKey): not a readable PEM private key (\(error))")
            }
            let expiry = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
            guard expiry > now else {
                throw LoadError(
                    description: "\(path).certificate: \(files.certificate): expired on \(expiry.formatted(.iso8601))")
            }
            // A context made from the pair fails when the key does not fit the certificate.
            do {
                var configuration = TLSConfiguration.makeServerConfiguration(
                    certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
                configuration.minimumTLSVersion = .tlsv12
                _ = try NIOSSLContext(configuration: configuration)
            } catch {
                throw LoadError(
                    description: "\(path): \(files.privateKey) does not fit \(files.certificate) (\(error))")
            }
            var names: [String] = []
            for name in leaf._subjectAlternativeNames() where name.nameType == .dnsName {
                names.append(String(decoding: name.contents, as: UTF8.self).lowercased())
            }
            // Checked above with BoringSSL's copy of the key; an RSA key signs through OpenSSL.
            let signer = SystemRSASigningKey.load(pemFile: files.privateKey)
            return Loaded(
                chain: chain, key: signer.map { NIOSSLPrivateKey(customPrivateKey: $0) } ?? key,
                systemSigner: signer, names: names, expiry: expiry)
        }
    }

    /// Loads the certificates of `config.tls` as the server would and describes them, one line
    /// each (`check-config`); throws what loading would throw.
    public static func validate(_ config: GeoFrontConfig) throws -> [String] {
        guard let settings = config.tls else { return [] }
        return try load(settings).enumerated().map { index, loaded in
            let names = loaded.names.isEmpty ? "no DNS names" : loaded.names.joined(separator: ", ")
            return "\(settings.certificates[index].certificate): \(names); expires \(loaded.expiry.formatted(.iso8601))"
        }
    }

    func replace(_ loaded: [Loaded]) {
        current.withLockedValue { $0 = loaded }
    }

    /// The certificate for `serverName` (exact name, then a `*.` wildcard for one label), else the
    /// first.
    func select(_ serverName: String?) -> Loaded? {
        current.withLockedValue { all in
            guard let name = serverName?.lowercased(), !name.isEmpty else { return all.first }
            if let exact = all.first(where: { $0.names.contains(name) }) { return exact }
            if let dot = name.firstIndex(of: ".") {
                let wildcard = "*" + name[dot...]
                if let match = all.first(where: { $0.names.contains(wildcard) }) { return match }
            }
            return all.first
        }
    }

    /// The server context: TLS 1.2 or newer, ALPN `alpn` (`tls.alpn`), certificate chosen per handshake.
    func context(alpn: [String] = ["http/1.1"]) throws -> NIOSSLContext {
        guard let first = select(nil) else { throw LoadError(description: "tls.certificates: none loaded") }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: first.chain.map { .certificate($0) }, privateKey: .privateKey(first.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = alpn
        configuration.sslContextCallback = { [self] values, promise in
            guard let chosen = select(values.serverHostname) else {
                promise.succeed(.noChanges)
                return
            }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = chosen.chain.map { .certificate($0) }
            override.privateKey = .privateKey(chosen.key)
            promise.succeed(override)
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
