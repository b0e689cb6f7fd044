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
    /// The protocols offered in ALPN, most preferred first: `h2`, `http/1.1` or both. A client
    /// that offers none of them (or no ALPN) speaks HTTP/1.1.
    public var alpn = TLSListenerSettings.protocols
    /// The protocols `alpn` may name.
    public static let protocols = ["h2", "http/1.1"]

    public init(listen: HostPort, certificates: [Certificate]) {
        self.listen = listen
        self.certificates = certificates
    }
}

extension TLSListenerSettings {
    /// Reads the `tls` object; nil when anything in it is wrong. `plainListen` is the plain
    /// listener (`listen`), whose address `tls.listen` may not share; when they clash, nothing
    /// else in `tls` is reported.
    static func read(_ value: JSONValue, plainListen: HostPort?, reader: inout ConfigReader) -> TLSListenerSettings? {
        guard
            let fields = reader.object(value, at: "tls", allowed: ["listen", "certificates", "redirect_http", "alpn"]),
            let listenValue = reader.required(fields, "listen", at: "tls"),
            let address = reader.listenAddress(listenValue, at: "tls.listen")
        else { return nil }
        if let plainListen, plainListen == address, address.port != 0 {
            reader.fail("tls.listen", "\(listenValue.brief) is the plain listener's address")
            return nil
        }
        guard let list = reader.required(fields, "certificates", at: "tls"),
            let items = reader.array(list, at: "tls.certificates")
        else { return nil }
        if items.isEmpty { reader.fail("tls.certificates", "needs at least one certificate") }
        var certificates: [Certificate] = []
        for (index, item) in items.enumerated() {
            let path = ConfigReader.join("tls.certificates", index)
            guard let entry = reader.object(item, at: path, allowed: ["certificate", "private_key"]),
                let certificate = reader.required(entry, "certificate", at: path).flatMap({
                    reader.nonEmptyString($0, at: ConfigReader.join(path, "certificate"))
                }),
                let key = reader.required(entry, "private_key", at: path).flatMap({
                    reader.nonEmptyString($0, at: ConfigReader.join(path, "private_key"))
                })
            else { continue }
            certificates.append(
                Certificate(certificate: reader.resolve(certificate), privateKey: reader.resolve(key)))
        }
        var settings = TLSListenerSettings(listen: address, certificates: certificates)
        if let value = fields["redirect_http"], let flag = reader.bool(value, at: "tls.redirect_http") {
            settings.redirectHTTP = flag
        }
        if let value = fields["alpn"], let alpn = readALPN(value, reader: &reader) { settings.alpn = alpn }
        return certificates.isEmpty ? nil : settings
    }

    /// `tls.alpn`: a non-empty list of known protocols, each once.
    private static func readALPN(_ value: JSONValue, reader: inout ConfigReader) -> [String]? {
        guard let items = reader.array(value, at: "tls.alpn") else { return nil }
        if items.isEmpty {
            reader.fail("tls.alpn", "needs at least one protocol (\"h2\", \"http/1.1\")")
            return nil
        }
        var names: [String] = []
        for (index, item) in items.enumerated() {
            let path = ConfigReader.join("tls.alpn", index)
            guard let name = reader.string(item, at: path) else { return nil }
            guard protocols.contains(name) else {
                reader.fail(path, "\(item.brief) is not a protocol GeoFront speaks (\"h2\", \"http/1.1\")")
                return nil
            }
            guard !names.contains(name) else {
                reader.fail(path, "\(item.brief) is listed twice")
                return nil
            }
            names.append(name)
        }
        return names
    }
}
