import COpenSSLCrypto
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// An RSA private key whose TLS handshake signatures are made by the system's libcrypto
/// (OpenSSL 3) instead of swift-nio-ssl's BoringSSL: on CPUs with AVX-512 IFMA OpenSSL signs
/// RSA-2048 in less than half the time (docs/benchmarks.md, "HTTPS"). Handed to swift-nio-ssl as
/// a `NIOSSLCustomPrivateKey`; the certificate and everything else stay BoringSSL's. Signing runs
/// on the connection's event loop, as BoringSSL's own would, and answers at once.
///
/// Only RSA keys come here (``load(pemFile:)`` returns nil for others): ECDSA keys sign faster in
/// BoringSSL than the peers' whole handshake costs, and stay there.
final class SystemRSASigningKey: NIOSSLCustomPrivateKey, Hashable, @unchecked Sendable {
    /// `EVP_PKEY`: immutable after loading; each signature makes its own `EVP_MD_CTX`, which is
    /// how OpenSSL 3 allows one key to sign from several threads at once.
    private let key: OpaquePointer
    let derBytes: [UInt8]
    /// Signatures made (tests: the handshake really went through this key).
    let signatures = NIOLockedValueBox(0)

    private init(key: OpaquePointer, derBytes: [UInt8]) {
        self.key = key
        self.derBytes = derBytes
    }

    deinit { EVP_PKEY_free(key) }

    /// The key in `path` (PEM) when it is an RSA key OpenSSL can read; nil otherwise (the caller
    /// keeps BoringSSL's key, which has already been checked against the certificate).
    static func load(pemFile path: String) -> SystemRSASigningKey? {
        guard let file = BIO_new_file(path, "r") else { return nil }
        defer { BIO_free(file) }
        guard let key = PEM_read_bio_PrivateKey(file, nil, nil, nil) else {
            ERR_clear_error()
            return nil
        }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA else {
            EVP_PKEY_free(key)
            return nil
        }
        var der: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_PrivateKey(key, &der)
        guard length > 0, let der else {
            EVP_PKEY_free(key)
            return nil
        }
        defer { CRYPTO_free(der, #fileID, #line) }
        return SystemRSASigningKey(key: key, derBytes: Array(UnsafeBufferPointer(start: der, count: Int(length))))
    }

    var signatureAlgorithms: [SignatureAlgorithm] {
        [.rsaPssRsaeSha256, .rsaPssRsaeSha384, .rsaPssRsaeSha512, .rsaPkcs1Sha256, .rsaPkcs1Sha384, .rsaPkcs1Sha512]
    }

    struct SigningFailed: Error, CustomStringConvertible {
        let description: String
    }

    func sign(channel: any Channel, algorithm: SignatureAlgorithm, data: ByteBuffer) -> EventLoopFuture<ByteBuffer> {
        let digest: OpaquePointer?
        let pss: Bool
        switch algorithm {
        case .rsaPssRsaeSha256: (digest, pss) = (EVP_sha256(), true)
        case .rsaPssRsaeSha384: (digest, pss) = (EVP_sha384(), true)
        case .rsaPssRsaeSha512: (digest, pss) = (EVP_sha512(), true)
        case .rsaPkcs1Sha256: (digest, pss) = (EVP_sha256(), false)
        case .rsaPkcs1Sha384: (digest, pss) = (EVP_sha384(), false)
        case .rsaPkcs1Sha512: (digest, pss) = (EVP_sha512(), false)
        default:
            return channel.eventLoop.makeFailedFuture(SigningFailed(description: "unsupported algorithm \(algorithm)"))
        }
        guard let context = EVP_MD_CTX_new() else {
            return channel.eventLoop.makeFailedFuture(SigningFailed(description: "EVP_MD_CTX_new failed"))
        }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer? = nil
        guard EVP_DigestSignInit(context, &keyContext, digest, nil, key) == 1,
            EVP_PKEY_CTX_set_rsa_padding(keyContext, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) == 1,
            !pss || EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1
        else {
            ERR_clear_error()
            return channel.eventLoop.makeFailedFuture(SigningFailed(description: "cannot set up the signature"))
        }
        var length = 0
        let signed = data.withUnsafeReadableBytes { input -> [UInt8]? in
            let bytes = input.bindMemory(to: UInt8.self)
            guard EVP_DigestSign(context, nil, &length, bytes.baseAddress, bytes.count) == 1 else { return nil }
            var out = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(context, &out, &length, bytes.baseAddress, bytes.count) == 1 else { return nil }
            return Array(out.prefix(length))
        }
        guard let signed else {
            ERR_clear_error()
            return channel.eventLoop.makeFailedFuture(SigningFailed(description: "signing failed"))
        }
        signatures.withLockedValue { $0 += 1 }
        return channel.eventLoop.makeSucceededFuture(channel.allocator.buffer(bytes: signed))
    }

    /// Only for RSA key exchange, which TLS 1.3 and the ECDHE suites GeoFront offers never use.
    func decrypt(channel: any Channel, data: ByteBuffer) -> EventLoopFuture<ByteBuffer> {
        channel.eventLoop.makeFailedFuture(SigningFailed(description: "RSA key exchange is not offered"))
    }

    static func == (lhs: SystemRSASigningKey, rhs: SystemRSASigningKey) -> Bool { lhs === rhs }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
