import GeoFrontCore
import NIOSSL

/// The TLS client context for HTTPS upstreams, made once per configuration.
public enum UpstreamTLS {
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Checks that the configuration's upstream TLS settings load (`check-config`).
    public static func validate(_ config: GeoFrontConfig) throws {
        _ = try context(for: config)
    }

    /// A context verifying upstream certificates against `ca_file` (or the system's trust store),
    /// TLS 1.2 or newer; nil when no upstream speaks TLS.
    static func context(for config: GeoFrontConfig) throws -> NIOSSLContext? {
        guard config.regions.contains(where: { $0.upstreams.contains { $0.tls } }) else { return nil }
        let settings = config.proxy.upstreamTLS
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["http/1.1"]
        tls.certificateVerification = settings.verify ? .fullVerification : .none
        if let caFile = settings.caFile {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw LoadError(
                    description: "proxy.upstream_tls.ca_file: \(caFile): not a readable PEM certificate file (\(error))"
                )
            }
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw LoadError(description: "proxy.upstream_tls: cannot build the TLS context: \(error)")
        }
    }
}

enum IPAddressLiteral {
    static func isIP(_ host: String) -> Bool {
        host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
    }
}
