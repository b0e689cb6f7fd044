/// The admin listener (`admin`): metrics, status, drains, reloads. Never the public listener.
public struct AdminSettings: Sendable, Hashable {
    /// nil disables the admin listener.
    public var listen: HostPort? = HostPort(host: "127.0.0.1", port: 9901)
    /// Bearer token required on every admin request; when nil, the environment variable named
    /// by `tokenEnvironmentVariable` is used if set; no token means no authentication.
    public var token: String?
    public var tokenEnvironmentVariable = "GEOFRONT_ADMIN_TOKEN"

    public init() {}
}

/// The optional access log (`access_log`): one line per request.
public struct AccessLogSettings: Sendable, Hashable {
    public enum Format: String, Sendable, CaseIterable {
        case json
        case text
    }

    /// File to append to; nil writes to standard output.
    public var path: String?
    public var format: Format = .json

    public init(path: String? = nil, format: Format = .json) {
        self.path = path
        self.format = format
    }
}

/// TLS termination (`tls`): a second listener speaking HTTPS with these certificates.
public struct TLSListenerSettings: Sendable, Hashable {
    public struct Certificate: Sendable, Hashable {
        /// PEM: the certificate, then its chain.
        public var certificate: String
        /// PEM private key.
        public var privateKey: String

        public init(certificate: String, privateKey: String) {
            self.certificate = certificate
            self.privateKey = privateKey
        }
    }

    public var listen: HostPort
    /// Chosen by SNI (matching each certificate's names, wildcards included); the first one when
    /// nothing matches or the client sends no name.
    public var certificates: [Certificate]
    /// The plain listener answers every request with 308 to the same URL on `https://`.
    public var redirectHTTP = false

    public init(listen: HostPort, certificates: [Certificate]) {
        self.listen = listen
        self.certificates = certificates
    }
}
