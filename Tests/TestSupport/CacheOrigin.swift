import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An origin on 127.0.0.1 for the cache's tests: each path answers with the response set for it
/// (status, fields, body), counts the requests it got, and can hold its answers until the test
/// lets them go, or send part of the body first. With `honourValidators`, a request whose
/// `If-None-Match` matches the response's `ETag` (or whose `If-Modified-Since` is its
/// `Last-Modified`) gets `304` with the response's fields and no body, as an origin does.
public final class CacheOrigin: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// Answer 304 to a matching conditional request.
        public var honourValidators: Bool
        /// Send the body chunked (no `Content-Length`).
        public var chunked: Bool
        /// Send the head and the first this-many body bytes, then the rest once released.
        public var holdAfter: Int?

        public init(
            status: Int = 200, headers: [(String, String)] = [], body: String = "hello",
            honourValidators: Bool = true, chunked: Bool = false, holdAfter: Int? = nil
        ) {
            self.status = status
            self.headers = headers
            self.body = Array(body.utf8)
            self.honourValidators = honourValidators
            self.chunked = chunked
            self.holdAfter = holdAfter
        }

        public init(
            status: Int = 200, headers: [(String, String)] = [], bytes: [UInt8], chunked: Bool = false,
            holdAfter: Int? = nil
        ) {
            self.init(status: status, headers: headers, body: "", chunked: chunked, holdAfter: holdAfter)
            body = bytes
        }
    }

    public struct Request: Sendable {
        public var method: String
        public var target: String
        public var headers: [(String, String)]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    struct State {
        var responses: [String: Response] = [:]
        var requests: [Request] = []
        var holding = false
        var held: [@Sendable () -> Void] = []
        var channel: (any Channel)?
    }

    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let state = NIOLockedValueBox(State())

    public init() throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try Self.bind(port: 0, group: group, state: state)
        port = channel.localAddress!.port!
        state.withLockedValue { $0.channel = channel }
    }

    public var address: String { "127.0.0.1:\(port)" }

    /// What `path` (the target, query included) answers from now on.
    public func set(_ path: String, _ response: Response) {
        state.withLockedValue { $0.responses[path] = response }
    }

    /// Requests received so far, in order.
    public var requests: [Request] { state.withLockedValue { $0.requests } }

    /// Requests received for `path`.
    public func count(_ path: String) -> Int {
        state.withLockedValue { $0.requests.filter { $0.target == path }.count }
    }

    /// Answers wait (each after its head) until ``release()``.
    public func hold() { state.withLockedValue { $0.holding = true } }

    /// Lets every waiting answer go, and later ones at once.
    public func release() {
        let waiting = state.withLockedValue { state in
            state.holding = false
            defer { state.held = [] }
            return state.held
        }
        for send in waiting { send() }
    }

    /// Stops listening and closes open connections: the origin is down.
    public func stop() throws {
        let channel = state.withLockedValue { state -> (any Channel)? in
            defer { state.channel = nil }
            return state.channel
        }
        try channel?.close().wait()
    }

    public func shutdown() {
        try? stop()
        try? group.syncShutdownGracefully()
    }

    private static func bind(port: Int, group: MultiThreadedEventLoopGroup, state: NIOLockedValueBox<State>) throws
        -> any Channel
    {
        try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let parent = state.withLockedValue { $0.channel }
                parent?.closeFuture.whenComplete { _ in channel.close(promise: nil) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CacheOriginHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
    }
}

/// Reads request heads (no bodies expected beyond `Content-Length`, which is skipped) and
/// answers each from the table.
private final class CacheOriginHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let state: NIOLockedValueBox<CacheOrigin.State>
    private var buffer = ""

    init(state: NIOLockedValueBox<CacheOrigin.State>) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer += bytes.readString(length: bytes.readableBytes) ?? ""
        while let end = buffer.range(of: "\r\n\r\n") {
            let head = String(buffer[..<end.lowerBound])
            var rest = String(buffer[end.upperBound...])
            var lines = head.components(separatedBy: "\r\n")
            let requestLine = lines.removeFirst().split(separator: " ")
            let headers = lines.compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (
                    String(line[..<colon]),
                    String(line[line.index(after: colon)...]).trimmingCharacters(in: [" ", "\t"])
                )
            }
            let request = CacheOrigin.Request(
                method: String(requestLine[0]), target: String(requestLine[1]), headers: headers)
            if let length = request.header("content-length").flatMap(Int.init) {
                rest = String(rest.dropFirst(length))
            }
            buffer = rest
            answer(request, context: context)
        }
    }

    private func answer(_ request: CacheOrigin.Request, context: ChannelHandlerContext) {
        let (found, holding) = state.withLockedValue { state -> (CacheOrigin.Response?, Bool) in
            state.requests.append(request)
            return (state.responses[request.target], state.holding)
        }
        let response = found ?? CacheOrigin.Response(status: 404, headers: [], body: "no such path")
        var status = response.status
        var body = response.body
        if response.honourValidators, request.method == "GET" || request.method == "HEAD",
            Self.matches(request, response)
        {
            status = 304
            body = []
        }
        if request.method == "HEAD" { body = [] }
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        let hasBody = status != 304 && status != 204
        if hasBody {
            head += response.chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: \(response.body.count)\r\n"
        }
        head += "\r\n"
        let channel = context.channel
        let first = min(response.holdAfter ?? body.count, body.count)
        let chunked = response.chunked && hasBody
        func frame(_ part: ArraySlice<UInt8>) -> [UInt8] {
            guard chunked else { return Array(part) }
            if part.isEmpty { return [] }
            return Array(String(part.count, radix: 16).utf8) + [13, 10] + part + [13, 10]
        }
        let start = Array(head.utf8) + frame(body[..<first])
        let finish = frame(body[first...]) + (chunked ? Array("0\r\n\r\n".utf8) : [])
        let send: @Sendable () -> Void = {
            channel.eventLoop.execute {
                channel.writeAndFlush(ByteBuffer(bytes: start), promise: nil)
                if response.holdAfter == nil { channel.writeAndFlush(ByteBuffer(bytes: finish), promise: nil) }
            }
        }
        let rest: @Sendable () -> Void = {
            channel.eventLoop.execute { channel.writeAndFlush(ByteBuffer(bytes: finish), promise: nil) }
        }
        if response.holdAfter != nil {
            send()
            state.withLockedValue { $0.held.append(rest) }
            return
        }
        if holding {
            state.withLockedValue { $0.held.append(send) }
        } else {
            send()
        }
    }

    private static func matches(_ request: CacheOrigin.Request, _ response: CacheOrigin.Response) -> Bool {
        let etag = response.headers.first { $0.0.lowercased() == "etag" }?.1
        let modified = response.headers.first { $0.0.lowercased() == "last-modified" }?.1
        if let ifNoneMatch = request.header("if-none-match") {
            guard let etag else { return false }
            return ifNoneMatch.split(separator: ",").contains {
                $0.trimmingCharacters(in: [" "]).replacingOccurrences(of: "W/", with: "")
                    == etag.replacingOccurrences(of: "W/", with: "")
            }
        }
        if let since = request.header("if-modified-since"), let modified { return since == modified }
        return false
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 203: "Non-Authoritative Information"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 404: "Not Found"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
