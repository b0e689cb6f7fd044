import Foundation
import GeoFrontCore
import Logging
import TestSupport
import Testing

@testable import GeoFrontServer

/// TLS termination on the front door: a certificate per name chosen by SNI, the plain listener's
/// redirect to HTTPS, and certificate reloads that keep the old certificate when the new one is
/// bad. The client is `curl`, which trusts only the CA it is given, so a handshake succeeds only
/// when the listener presented the certificate that CA signed.
@Suite(.serialized) struct ListenerTLSTests {
    struct Rig {
        let folder: TemporaryDirectory
        let configPath: String
        let server: FrontDoorServer
        let reloader: ConfigReloader
        var port: Int { server.localAddress!.port! }
        var securePort: Int { server.secureAddress!.port! }
    }

    static func config(certificates: [TestCertificates], redirectHTTP: Bool = true) -> String {
        let list = certificates.map {
            #"{"certificate": "\#($0.serverCertificate)", "private_key": "\#($0.serverKey)"}"#
        }
        return """
            {"listen": "127.0.0.1:0", "geoip": {"database": "\(Fixtures.maxmind("GeoLite2-City-Test.mmdb"))"},
             "server": {"threads": 1},
             "tls": {"listen": "127.0.0.1:0", "redirect_http": \(redirectHTTP), "certificates": [\(list.joined(separator: ", "))]},
             "regions": [{"name": "eu", "location": {"latitude": 50, "longitude": 8}, "redirect_url": "https://eu.example.test"}]}
            """
    }

    static func start(_ folder: TemporaryDirectory, certificates: [TestCertificates], redirectHTTP: Bool = true)
        async throws -> Rig
    {
        try await start(folder, config: config(certificates: certificates, redirectHTTP: redirectHTTP))
    }

    static func start(_ folder: TemporaryDirectory, config: String) async throws -> Rig {
        let path = try folder.write("regions.json", config)
        var logger = Logger(label: "tls-listener-test")
        logger.logLevel = .critical
        let snapshot = try RoutingSnapshot.open(config: try ConfigLoader.load(path: path))
        let server = try await FrontDoorServer.start(snapshot: snapshot, logger: logger)
        return Rig(
            folder: folder, configPath: path, server: server,
            reloader: ConfigReloader(configPath: path, server: server, logger: logger))
    }

    /// `curl` over TLS to `name` (resolved to 127.0.0.1) trusting only `ca`: the status and the
    /// `Location`, or nil when the handshake or verification failed.
    static func get(_ name: String, port: Int, path: String = "/p?q=1", ca: String) throws -> (Int, String)? {
        let (status, output) = try ProcessOutput.run(
            "/usr/bin/curl",
            [
                "-sS", "--max-time", "10", "--cacert", ca, "--resolve", "\(name):\(port):127.0.0.1",
                "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "https://\(name):\(port)\(path)",
            ])
        guard status == 0 else { return nil }
        let text = output.split(separator: " ", maxSplits: 1)
        return (Int(text[0]) ?? 0, text.count > 1 ? String(text[1]) : "")
    }

    @Test func certificateIsChosenBySNI() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let alpha = try TestCertificates(in: folder, prefix: "alpha", serverName: "alpha.test")
        let beta = try TestCertificates(in: folder, prefix: "beta", serverName: "beta.test")
        let rig = try await Self.start(folder, certificates: [alpha, beta])

        let a = try Self.get("alpha.test", port: rig.securePort, ca: alpha.caCertificate)
        #expect(a?.0 == 302)
        #expect(a?.1 == "https://eu.example.test/p?q=1")
        #expect(try Self.get("beta.test", port: rig.securePort, ca: beta.caCertificate)?.0 == 302)
        // beta.test is served beta's certificate, which alpha's CA did not sign.
        #expect(try Self.get("beta.test", port: rig.securePort, ca: alpha.caCertificate) == nil)
        // An unknown name gets the first certificate (whose name then does not match).
        #expect(try Self.get("gamma.test", port: rig.securePort, ca: alpha.caCertificate) == nil)

        // Plain HTTP on the TLS port gets a plain 400 saying so; other junk is closed; the
        // listener keeps serving.
        let plain = try RawHTTPClient(port: rig.securePort)
        let refused = try plain.exchange("GET / HTTP/1.1\r\nHost: alpha.test\r\n\r\n")
        #expect(refused.status == 400)
        #expect(String(decoding: refused.body, as: UTF8.self) == "This port speaks HTTPS: send the request with TLS\n")
        #expect(plain.waitForClose())
        let junk = try RawHTTPClient(port: rig.securePort)
        #expect(junk.send([0x00, 0x01, 0x02]))
        #expect(junk.waitForClose())
        #expect(try Self.get("alpha.test", port: rig.securePort, ca: alpha.caCertificate)?.0 == 302)
        try await rig.server.stop()
    }

    /// `openssl s_client` with one protocol version forced: the negotiated protocol and ALPN, or
    /// nil when the handshake failed.
    static func handshake(port: Int, ca: String, version: String, sigalgs: String? = nil) throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments =
            [
                "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "alpha.test", "-CAfile", ca,
                "-verify_return_error", "-alpn", "h2,http/1.1", version, "-cipher", "DEFAULT:@SECLEVEL=0",
            ] + (sigalgs.map { ["-sigalgs", $0] } ?? [])
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let protocolLine = text.split(separator: "\n").first { $0.contains("Protocol  :") || $0.hasPrefix("New, TLSv") }
        let alpn = text.split(separator: "\n").first { $0.hasPrefix("ALPN protocol:") }
        return "\(protocolLine.map(String.init) ?? "?") | \(alpn.map(String.init) ?? "no ALPN")"
    }

    /// An RSA certificate's handshakes are signed by the system's libcrypto (PSS and PKCS #1
    /// v1.5, TLS 1.3 and 1.2), and verify against the CA; an ECDSA key stays BoringSSL's.
    @Test func rsaKeysSignThroughTheSystemLibcrypto() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let rsa = try TestCertificates(in: folder, prefix: "rsa", serverName: "alpha.test", rsaServerKey: true)
        let rig = try await Self.start(folder, certificates: [rsa], redirectHTTP: false)
        let signer = try #require(rig.server.certificates?.select("alpha.test")?.systemSigner)
        let port = rig.server.secureAddress!.port!
        #expect(try Self.handshake(port: port, ca: rsa.caCertificate, version: "-tls1_3")?.contains("TLSv1.3") == true)
        #expect(try Self.handshake(port: port, ca: rsa.caCertificate, version: "-tls1_2")?.contains("TLSv1.2") == true)
        #expect(
            try Self.handshake(port: port, ca: rsa.caCertificate, version: "-tls1_2", sigalgs: "RSA+SHA256")?
                .contains("TLSv1.2") == true)
        #expect(signer.signatures.withLockedValue { $0 } == 3)
        #expect(try Self.get("alpha.test", port: port, ca: rsa.caCertificate)?.0 == 302)
        try await rig.server.stop()

        let ecdsa = try TestCertificates(in: folder, prefix: "ec", serverName: "alpha.test")
        let ecRig = try await Self.start(folder, certificates: [ecdsa], redirectHTTP: false)
        #expect(ecRig.server.certificates?.select("alpha.test")?.systemSigner == nil)
        #expect(try Self.get("alpha.test", port: ecRig.server.secureAddress!.port!, ca: ecdsa.caCertificate)?.0 == 302)
        try await ecRig.server.stop()
    }

    @Test func tls12And13WithALPN() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let alpha = try TestCertificates(in: folder, prefix: "alpha", serverName: "alpha.test")
        let rig = try await Self.start(folder, certificates: [alpha])
        let tls13 = try #require(try Self.handshake(port: rig.securePort, ca: alpha.caCertificate, version: "-tls1_3"))
        #expect(tls13.contains("TLSv1.3"), "\(tls13)")
        #expect(tls13.hasSuffix("ALPN protocol: h2"), "\(tls13)")  // `tls.alpn`'s default prefers h2
        let tls12 = try #require(try Self.handshake(port: rig.securePort, ca: alpha.caCertificate, version: "-tls1_2"))
        #expect(tls12.contains("TLSv1.2"), "\(tls12)")
        // TLS 1.0/1.1 refusal (minimumTLSVersion) is not asserted: this machine's OpenSSL client
        // cannot complete those handshakes with any server, so such a check could not fail.
        try await rig.server.stop()

        // `tls.alpn: ["http/1.1"]`: no h2 offered.
        let config = Self.config(certificates: [alpha]).replacingOccurrences(
            of: #""redirect_http":"#, with: #""alpn": ["http/1.1"], "redirect_http":"#)
        let http1 = try await Self.start(folder, config: config)
        let only = try #require(try Self.handshake(port: http1.securePort, ca: alpha.caCertificate, version: "-tls1_3"))
        #expect(only.hasSuffix("ALPN protocol: http/1.1"), "\(only)")
        #expect(try Self.get("alpha.test", port: http1.securePort, ca: alpha.caCertificate)?.0 == 302)
        try await http1.server.stop()
    }

    @Test func plainListenerRedirectsToHTTPS() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let alpha = try TestCertificates(in: folder, prefix: "alpha", serverName: "alpha.test")
        let rig = try await Self.start(folder, certificates: [alpha])

        let response = try RawHTTPClient(port: rig.port).exchange(
            "GET /path?x=1 HTTP/1.1\r\nHost: alpha.test:\(rig.port)\r\n\r\n")
        #expect(response.status == 308)
        #expect(response.header("location") == "https://alpha.test:\(rig.securePort)/path?x=1")
        // A Host that is not a plain name cannot be reflected into the Location.
        let hostile = try RawHTTPClient(port: rig.port).exchange(
            "GET / HTTP/1.1\r\nHost: evil.test/@x\r\n\r\n")
        #expect(hostile.status == 400)
        try await rig.server.stop()

        // Without redirect_http the plain listener routes as usual.
        let both = try await Self.start(folder, certificates: [alpha], redirectHTTP: false)
        let routed = try RawHTTPClient(port: both.port).exchange("GET /r HTTP/1.1\r\nHost: alpha.test\r\n\r\n")
        #expect(routed.status == 302)
        #expect(routed.header("location") == "https://eu.example.test/r")
        try await both.server.stop()
    }

    @Test func reloadSwapsCertificatesAndKeepsThemWhenTheNewOnesAreBad() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let first = try TestCertificates(in: folder, prefix: "first", serverName: "alpha.test")
        let rig = try await Self.start(folder, certificates: [first])
        #expect(try Self.get("alpha.test", port: rig.securePort, ca: first.caCertificate)?.0 == 302)

        // A certificate file that is not PEM: the reload fails naming it, the old one serves on.
        let second = try TestCertificates(in: folder, prefix: "second", serverName: "alpha.test")
        let validKey = try String(contentsOfFile: second.serverCertificate, encoding: .utf8)
        try "not a certificate\n".write(toFile: second.serverCertificate, atomically: true, encoding: .utf8)
        _ = try folder.write("regions.json", Self.config(certificates: [second]))
        let failed = await rig.reloader.reload(reason: "test")
        guard case .failure(let failure) = failed else {
            Issue.record("reload with a bad certificate succeeded")
            return
        }
        #expect("\(failure)".contains("tls.certificates[0].certificate: \(second.serverCertificate)"))
        #expect(try Self.get("alpha.test", port: rig.securePort, ca: first.caCertificate)?.0 == 302)

        // A key that does not fit the certificate is refused the same way.
        try validKey.write(toFile: second.serverCertificate, atomically: true, encoding: .utf8)
        let mismatched = #"{"certificate": "\#(second.serverCertificate)", "private_key": "\#(first.serverKey)"}"#
        _ = try folder.write(
            "regions.json",
            Self.config(certificates: [second]).replacingOccurrences(
                of: #"{"certificate": "\#(second.serverCertificate)", "private_key": "\#(second.serverKey)"}"#,
                with: mismatched))
        guard case .failure(let misfit) = await rig.reloader.reload(reason: "test") else {
            Issue.record("reload with a mismatched key succeeded")
            return
        }
        #expect("\(misfit)".contains("does not fit"))
        #expect(try Self.get("alpha.test", port: rig.securePort, ca: first.caCertificate)?.0 == 302)

        // The repaired files: new handshakes get the new certificate.
        _ = try folder.write("regions.json", Self.config(certificates: [second]))
        guard case .success = await rig.reloader.reload(reason: "test") else {
            Issue.record("reload with a good certificate failed")
            return
        }
        #expect(try Self.get("alpha.test", port: rig.securePort, ca: second.caCertificate)?.0 == 302)
        #expect(try Self.get("alpha.test", port: rig.securePort, ca: first.caCertificate) == nil)
        try await rig.server.stop()
    }

    @Test func renewedCertificateFilesArePickedUp() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let first = try TestCertificates(in: folder, prefix: "first", serverName: "alpha.test")
        let renewed = try TestCertificates(in: folder, prefix: "renewed", serverName: "alpha.test")
        let rig = try await Self.start(folder, certificates: [first])
        let started = Counter()
        let watcher = Task { [rig] in
            started.add(1)
            // run() notes the files it watches before it first suspends.
            try await WatchedFilesReloader(
                reloader: rig.reloader, publisher: rig.server.publisher, interval: .milliseconds(100)
            ).run()
        }
        try await waitUntil("the watcher to start") { started.value == 1 }
        #expect(try Self.get("alpha.test", port: rig.securePort, ca: first.caCertificate)?.0 == 302)
        // A renewal: new files renamed over the configured ones, key first. Renewed again only if
        // the watcher (preempted between starting and noting the files) took the first renewal
        // for the original; normally the first is picked up.
        var served = false
        for attempt in 1...3 where !served {
            let renewal =
                attempt == 1
                ? renewed
                : try TestCertificates(
                    in: folder, prefix: "renewed\(attempt)", serverName: "alpha.test")
            #expect(rename(renewal.serverKey, first.serverKey) == 0)
            #expect(rename(renewal.serverCertificate, first.serverCertificate) == 0)
            try? await waitUntil(
                "the renewed certificate to be served (attempt \(attempt))", timeout: .seconds(10),
                interval: .milliseconds(100)
            ) {
                try Self.get("alpha.test", port: rig.securePort, ca: renewal.caCertificate)?.0 == 302
            }
            served = try Self.get("alpha.test", port: rig.securePort, ca: renewal.caCertificate)?.0 == 302
        }
        #expect(served)
        #expect(rig.server.publisher.current.generation >= 2)
        watcher.cancel()
        _ = await watcher.result
        try await rig.server.stop()
    }

    @Test func proxiedRequestsFromTheTLSListenerSayHTTPS() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let alpha = try TestCertificates(in: folder, prefix: "alpha", serverName: "alpha.test")
        let upstream = try TestUpstream(name: "origin")
        defer { upstream.shutdown() }
        let proxying = Self.config(certificates: [alpha], redirectHTTP: false).replacingOccurrences(
            of: #""redirect_url": "https://eu.example.test""#, with: #""upstreams": ["\#(upstream.address)"]"#
        ).replacingOccurrences(of: #""server": {"threads": 1}"#, with: #""mode": "proxy", "server": {"threads": 1}"#)
        let rig = try await Self.start(folder, config: proxying)

        #expect(try Self.get("alpha.test", port: rig.securePort, ca: alpha.caCertificate)?.0 == 200)
        _ = try RawHTTPClient(port: rig.port).exchange("GET /plain HTTP/1.1\r\nHost: a\r\n\r\n")
        let protos = upstream.seen.map { seen in seen.headers.first { $0.0.lowercased() == "x-forwarded-proto" }?.1 }
        #expect(protos == ["https", "http"])
        try await rig.server.stop()
    }

    @Test func missingCertificateIsAClearErrorAtStart() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let alpha = try TestCertificates(in: folder, prefix: "alpha", serverName: "alpha.test")
        try FileManager.default.removeItem(atPath: alpha.serverKey)
        await #expect {
            _ = try await Self.start(folder, certificates: [alpha])
        } throws: { error in
            "\(error)".hasPrefix("tls.certificates[0].private_key: \(alpha.serverKey): not a readable PEM private key")
        }
    }
}
