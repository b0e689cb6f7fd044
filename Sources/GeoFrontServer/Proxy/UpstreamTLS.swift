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
        _ = try contexts(for: config)
    }

    /// The two client contexts of one `proxy.upstream_tls`: ALPN `http/1.1` and ALPN `h2`.
    struct Contexts: Sendable {
        var http1: NIOSSLContext?
        var h2: NIOSSLContext?
    }

    /// The contexts of `config`'s `proxy.upstream_tls`: each nil when no upstream (and no health
    /// target) speaks TLS with that protocol.
    static func contexts(for config: GeoFrontConfig) throws -> Contexts {
        var contexts = Contexts()
        if config.deployments.contains(where: {
            $0.upstreams.contains { $0.tls && $0.httpProtocol == .http1 }
                || $0.healthTargets.contains { $0.tls && !$0.http2 }
        }) {
            contexts.http1 = try context(config.proxy.upstreamTLS)
        }
        if config.deployments.contains(where: { $0.upstreams.contains { $0.tls && $0.httpProtocol == .h2 } }) {
            contexts.h2 = try context(config.proxy.upstreamTLS, alpn: "h2")
        }
        return contexts
    }

    /// A context verifying certificates against `ca_file` (or the system's trust store), TLS 1.2
    /// or newer, ALPN `alpn`.
    static func context(_ settings: UpstreamTLSSettings, alpn: String = "http/1.1") throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = [alpn]
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
