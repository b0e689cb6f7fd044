import GeoFrontCore
import NIOSSL

/// The TLS client side for HTTPS upstreams and for health checks of TLS targets: one context per
/// `proxy.upstream_tls`, one client handler per connection. The proxy's pool and the health prober
/// both go through here, so a probe verifies exactly as the proxy does.
public enum UpstreamTLS {
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Checks that the configuration's upstream TLS settings load (`check-config`).
    public static func validate(_ config: GeoFrontConfig) throws {
        _ = try context(for: config)
    }

    /// The context of `config`'s `proxy.upstream_tls`; nil when no upstream and no health target
    /// speaks TLS.
    static func context(for config: GeoFrontConfig) throws -> NIOSSLContext? {
        guard
            config.deployments.contains(where: {
                $0.upstreams.contains { $0.tls } || $0.healthTargets.contains { $0.tls }
            })
        else { return nil }
        return try context(config.proxy.upstreamTLS)
    }

    /// A context verifying certificates against `ca_file` (or the system's trust store), TLS 1.2
    /// or newer, ALPN `http/1.1`.
    static func context(_ settings: UpstreamTLSSettings) throws -> NIOSSLContext {
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

    /// The name sent as SNI and checked against the certificate: `serverName`, else `host` unless
    /// it is an IP literal (then no SNI is sent and the certificate must carry that IP address).
    static func verifiedName(host: String, serverName: String?) -> String? {
        serverName ?? (IPAddressLiteral.isIP(host) ? nil : host)
    }

    /// NIOSSL's client handler for one connection to `host` (see ``verifiedName(host:serverName:)``).
    static func clientHandler(context: NIOSSLContext, host: String, serverName: String?) throws
        -> NIOSSLClientHandler
    {
        try NIOSSLClientHandler(context: context, serverHostname: verifiedName(host: host, serverName: serverName))
    }
}

enum IPAddressLiteral {
    static func isIP(_ host: String) -> Bool {
        host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
    }
}
