import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A small client of etcd's v3 JSON gateway (`POST /v3/…` over HTTP/1.1, keys and values
/// base64): the calls GeoFront's fleet mode needs and nothing more. Each call opens a connection
/// of its own, which is plenty for a configuration watch and a lease kept alive every few
/// seconds, and keeps a dead connection from outliving its call. None of this is on a request's
/// path: etcd only feeds the reload path.
public final class EtcdClient: Sendable {
    public let endpoint: EtcdEndpoint
    private let group: any EventLoopGroup
    private let tls: NIOSSLContext?
    private let token = NIOLockedValueBox<String?>(nil)
    private let connectTimeout: TimeAmount
    private let callTimeout: TimeAmount
    /// The most a response (or one message of a stream) may hold.
    static let responseLimit = 16 * 1024 * 1024

    public struct KeyValue: Sendable {
        public let key: String
        public let value: Data
        public let modRevision: Int64
    }

    public init(
        endpoint: EtcdEndpoint, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: TimeAmount = .seconds(2), callTimeout: TimeAmount = .seconds(5)
    ) throws {
        self.endpoint = endpoint
        self.group = group
        self.connectTimeout = connectTimeout
        self.callTimeout = callTimeout
        tls = endpoint.tls ? try NIOSSLContext(configuration: Self.tlsConfiguration(endpoint)) : nil
    }

    /// TLS to etcd: its certificate verified against `?ca=` (else the system's trust store), with
    /// this client's certificate and key when `?cert=` and `&key=` are given.
    static func tlsConfiguration(_ endpoint: EtcdEndpoint) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let ca = endpoint.caFile { configuration.trustRoots = .file(ca) }
        if let certificate = endpoint.certificateFile, let key = endpoint.keyFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return configuration
    }

    /// The value at `key` and the store's revision when it was read (nil value: no such key).
    public func get(_ key: String) async throws -> (value: KeyValue?, revision: Int64) {
        let response = try await call(
            "/v3/kv/range", ["key": EtcdWire.base64(key)], as: EtcdWire.RangeResponse.self)
        let value = response.kvs?.first.map(Self.keyValue)
        return (value, response.header?.revision?.value ?? 0)
    }

    /// Every key starting with `prefix`, in key order.
    public func list(prefix: String) async throws -> [KeyValue] {
        try await listWithRevision(prefix: prefix).values
    }

    /// Every key starting with `prefix`, in key order, and the store's revision when they were read.
    public func listWithRevision(prefix: String) async throws -> (values: [KeyValue], revision: Int64) {
        let response = try await call(
            "/v3/kv/range", ["key": EtcdWire.base64(prefix), "range_end": EtcdWire.prefixEnd(prefix)],
            as: EtcdWire.RangeResponse.self)
        return ((response.kvs ?? []).map(Self.keyValue), response.header?.revision?.value ?? 0)
    }

    /// Deletes `key` (nothing happens when there is no such key).
    public func delete(_ key: String) async throws {
        _ = try await callRaw("/v3/kv/deleterange", ["key": EtcdWire.base64(key)])
    }

    /// Puts `value` at `key` (attached to `lease` when given); the store's new revision.
    @discardableResult
    public func put(_ key: String, _ value: Data, lease: Int64? = nil) async throws -> Int64 {
        var body: [String: String] = ["key": EtcdWire.base64(key), "value": value.base64EncodedString()]
        if let lease { body["lease"] = String(lease) }
        let response = try await call("/v3/kv/put", body, as: EtcdWire.PutResponse.self)
        return response.header?.revision?.value ?? 0
    }

    /// A new lease of `ttl` seconds; its ID.
    public func grantLease(ttl: Int) async throws -> Int64 {
        let response = try await call("/v3/lease/grant", ["TTL": String(ttl)], as: EtcdWire.LeaseGrantResponse.self)
        guard let id = response.id?.value, id != 0 else {
            throw EtcdError("etcd granted no lease\(response.error.map { ": \($0)" } ?? "")")
        }
        return id
    }

    /// Renews `lease`; its remaining time to live in seconds, 0 when etcd no longer knows it.
    public func keepAlive(lease: Int64) async throws -> Int64 {
        let response = try await call(
            "/v3/lease/keepalive", ["ID": String(lease)], as: EtcdWire.LeaseKeepAliveResponse.self)
        if let error = response.error { throw EtcdError(error.message ?? error.error ?? "keepalive failed") }
        return response.result?.ttl?.value ?? 0
    }

    /// A watch's messages, and a way to end it from outside its iteration.
    struct Watch: Sendable {
        /// Each of the gateway's JSON objects (`{"result": {…}}`); ends (throwing) when the
        /// connection does.
        let messages: AsyncThrowingStream<Data, any Error>
        /// Closes the connection: the iteration then ends with an error.
        let close: @Sendable () -> Void
    }

    /// Watches `key` (with `prefix`, every key starting with it) from `startRevision` on.
    func watch(_ key: String, from startRevision: Int64, prefix: Bool = false) async throws -> Watch {
        var create = ["key": EtcdWire.base64(key), "start_revision": String(startRevision)]
        if prefix { create["range_end"] = EtcdWire.prefixEnd(key) }
        let request: [String: Any] = ["create_request": create]
        let body = try JSONSerialization.data(withJSONObject: request)
        return try await authenticated { token in
            let (stream, channel) = try await self.open(
                "/v3/watch", body: body, token: token, mode: .lines, timeout: nil)
            return Watch(messages: stream, close: { channel.close(promise: nil) })
        }
    }

    private static func keyValue(_ wire: EtcdWire.KeyValue) -> KeyValue {
        KeyValue(
            key: String(decoding: EtcdWire.decodeBase64(wire.key), as: UTF8.self),
            value: EtcdWire.decodeBase64(wire.value), modRevision: wire.modRevision?.value ?? 0)
    }

    /// One unary call: posts `body` as JSON and decodes the answer.
    private func call<Response: Decodable>(_ path: String, _ body: [String: String], as: Response.Type)
        async throws -> Response
    {
        let answer = try await callRaw(path, body)
        do {
            return try JSONDecoder().decode(Response.self, from: answer)
        } catch {
            throw EtcdError("etcd's answer to \(path) is not what the v3 gateway sends: \(error)")
        }
    }

    /// One unary call: posts `body` as JSON; the answer's bytes.
    func callRaw(_ path: String, _ body: [String: String]) async throws -> Data {
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let answer = try await authenticated { token in
            let (stream, _) = try await self.open(
                path, body: data, token: token, mode: .whole, timeout: self.callTimeout)
            var whole = Data()
            for try await part in stream { whole.append(part) }
            return whole
        }
        return answer
    }

    /// Runs `body` with the authentication token (none without a user in the address), getting
    /// a fresh token once when etcd refuses the one it has.
    private func authenticated<T: Sendable>(_ body: @Sendable (String?) async throws -> T) async throws -> T {
        guard endpoint.user != nil else { return try await body(nil) }
        if let token = token.withLockedValue({ $0 }) {
            do {
                return try await body(token)
            } catch let error as EtcdError where error.status == 401 || error.description.contains("token") {
                self.token.withLockedValue { $0 = nil }
            }
        }
        let fresh = try await authenticate()
        return try await body(fresh)
    }

    /// `/v3/auth/authenticate` with the address's user and password.
    private func authenticate() async throws -> String {
        let credentials = ["name": endpoint.user ?? "", "password": endpoint.password ?? ""]
        let data = try JSONSerialization.data(withJSONObject: credentials)
        let (stream, _) = try await open(
            "/v3/auth/authenticate", body: data, token: nil, mode: .whole, timeout: callTimeout)
        var whole = Data()
        for try await part in stream { whole.append(part) }
        guard let token = try? JSONDecoder().decode(EtcdWire.AuthenticateResponse.self, from: whole).token else {
            throw EtcdError("etcd gave no authentication token to user \(endpoint.user ?? "")")
        }
        self.token.withLockedValue { $0 = token }
        return token
    }

    /// Connects, sends the request and returns the response's stream. Ending the stream's
    /// iteration (or cancelling its task) closes the connection.
    private func open(
        _ path: String, body: Data, token: String?, mode: EtcdHTTPHandler.Mode, timeout: TimeAmount?
    ) async throws -> (AsyncThrowingStream<Data, any Error>, any Channel) {
        let (stream, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: endpoint.address)
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.count))
        if let token { headers.add(name: "Authorization", value: token) }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)
        let buffer = ByteBuffer(bytes: body)
        let tls = self.tls
        let serverName =
            endpoint.host.contains(":") || endpoint.host.allSatisfy({ $0.isNumber || $0 == "." })
            ? nil : endpoint.host
        let limit = Self.responseLimit
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handlers = channel.pipeline.syncOperations
                        if let tls {
                            try handlers.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                        }
                        try handlers.addHTTPClientHandlers()
                        try handlers.addHandler(
                            EtcdHTTPHandler(
                                head: head, body: buffer, mode: mode, limit: limit, continuation: continuation))
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port).get()
        } catch {
            continuation.finish(throwing: error)
            // NIO's connection error lists every address tried; one reason reads better.
            let reason = (error as? NIOConnectionError)?.connectionErrors.first.map { "\($0.error)" } ?? "\(error)"
            throw EtcdError("cannot reach etcd at \(endpoint.address): \(reason)")
        }
        continuation.onTermination = { _ in channel.close(promise: nil) }
        if let timeout {
            let address = endpoint.address
            channel.eventLoop.scheduleTask(in: timeout) {
                continuation.finish(throwing: EtcdError("etcd at \(address) did not answer \(path) in time"))
                channel.close(promise: nil)
            }
        }
        return (stream, channel)
    }
}

extension EtcdClient {
    /// Ends `lease` now, deleting the keys attached to it.
    public func revokeLease(_ lease: Int64) async throws {
        _ = try await callRaw("/v3/lease/revoke", ["ID": String(lease)])
    }
}
