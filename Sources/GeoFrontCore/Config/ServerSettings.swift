/// Limits and timeouts of the public listener (`server`); the defaults are documented in the README.
public struct ServerSettings: Sendable, Hashable {
    /// A keep-alive connection with no request in progress is closed after this long.
    public var idleTimeoutMilliseconds: Int
    /// From the first byte of a request, its whole head must arrive within this time (slow clients
    /// get 408 and are disconnected). Also bounds the time to receive a request body.
    public var requestTimeoutMilliseconds: Int
    /// Largest request head (request line plus headers) accepted; larger ones get 431.
    public var maxRequestHeadBytes: Int
    /// Event-loop threads; 0 means one per CPU core.
    public var threads: Int
    /// On SIGTERM/SIGINT, requests in flight get this long to finish before connections are cut.
    public var shutdownGraceMilliseconds: Int = 10_000
    /// Open client connections at most (new ones beyond are closed at once); 0 = no limit.
    public var maxConnections = 50_000
    /// Open connections from one client address at most (the TCP peer); 0 = no limit.
    public var maxConnectionsPerIP = 0
    /// Requests on one keep-alive connection at most (the last answer says `Connection: close`);
    /// 0 = no limit.
    public var maxRequestsPerConnection = 10_000
    /// A client that takes nothing of what is written to it for this long (its connection stays
    /// full) is disconnected: a reader that stopped cannot hold a connection, an upstream
    /// exchange or its buffers forever.
    public var sendTimeoutMilliseconds = 60_000
    /// HTTP/2 with prior knowledge (h2c) on the plain listener, beside HTTP/1.1 (told apart by
    /// the connection's first bytes).
    public var h2c = false
    /// Streams one HTTP/2 connection may have open at once (`SETTINGS_MAX_CONCURRENT_STREAMS`);
    /// more are refused with `REFUSED_STREAM`.
    public var h2MaxConcurrentStreams = 100
    /// RST_STREAM frames an HTTP/2 client may send within ``h2FloodWindowMilliseconds`` (rapid
    /// reset, CVE-2023-44487); more end the connection with GOAWAY `ENHANCE_YOUR_CALM`.
    public var h2MaxResets = 200
    /// PING, SETTINGS and PRIORITY frames an HTTP/2 client may send within the window; more end
    /// the connection with GOAWAY `ENHANCE_YOUR_CALM`.
    public var h2MaxControlFrames = 200
    /// The window the two limits above count in.
    public var h2FloodWindowMilliseconds = 30_000
    /// CONTINUATION frames one header block may use; more end the connection (the 2024
    /// CONTINUATION flood).
    public var h2MaxContinuationFrames = 5

    public init(
        idleTimeoutMilliseconds: Int = 60_000, requestTimeoutMilliseconds: Int = 10_000,
        maxRequestHeadBytes: Int = 32_768, threads: Int = 0
    ) {
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.maxRequestHeadBytes = maxRequestHeadBytes
        self.threads = threads
    }
}

extension ServerSettings {
    /// The keys of the `server` object.
    static let configKeys = [
        "idle_timeout_ms", "request_timeout_ms", "max_request_head_bytes", "threads", "shutdown_grace_ms",
        "fast_path", "max_connections", "max_connections_per_ip", "max_requests_per_connection",
        "send_timeout_ms", "h2c", "h2_max_concurrent_streams", "h2_max_resets", "h2_max_control_frames",
        "h2_flood_window_ms", "h2_max_continuation_frames",
    ]

    /// Reads the `server` object; the defaults when it is absent, and for each key it leaves out.
    static func read(_ value: JSONValue?, reader: inout ConfigReader) -> ServerSettings {
        var server = ServerSettings()
        guard let value, let fields = reader.object(value, at: "server", allowed: configKeys) else { return server }
        reader.integer(
            fields, "idle_timeout_ms", at: "server", in: 1...86_400_000, into: &server.idleTimeoutMilliseconds)
        reader.integer(
            fields, "request_timeout_ms", at: "server", in: 1...3_600_000, into: &server.requestTimeoutMilliseconds)
        reader.integer(
            fields, "max_request_head_bytes", at: "server", in: 1024...1_048_576, into: &server.maxRequestHeadBytes)
        reader.integer(fields, "threads", at: "server", in: 0...256, into: &server.threads)
        // `fast_path` chose between two request paths; there is one now. Still a boolean, so
        // files written for earlier versions load unchanged.
        if let value = fields["fast_path"] { _ = reader.bool(value, at: "server.fast_path") }
        reader.integer(fields, "max_connections", at: "server", in: 0...10_000_000, into: &server.maxConnections)
        reader.integer(
            fields, "max_connections_per_ip", at: "server", in: 0...10_000_000, into: &server.maxConnectionsPerIP)
        reader.integer(
            fields, "max_requests_per_connection", at: "server", in: 0...100_000_000,
            into: &server.maxRequestsPerConnection)
        reader.integer(
            fields, "shutdown_grace_ms", at: "server", in: 0...3_600_000, into: &server.shutdownGraceMilliseconds)
        reader.integer(
            fields, "send_timeout_ms", at: "server", in: 1...3_600_000, into: &server.sendTimeoutMilliseconds)
        if let value = fields["h2c"], let flag = reader.bool(value, at: "server.h2c") { server.h2c = flag }
        reader.integer(
            fields, "h2_max_concurrent_streams", at: "server", in: 1...100_000, into: &server.h2MaxConcurrentStreams)
        reader.integer(fields, "h2_max_resets", at: "server", in: 1...1_000_000, into: &server.h2MaxResets)
        reader.integer(
            fields, "h2_max_control_frames", at: "server", in: 1...1_000_000, into: &server.h2MaxControlFrames)
        reader.integer(
            fields, "h2_flood_window_ms", at: "server", in: 1...3_600_000, into: &server.h2FloodWindowMilliseconds)
        reader.integer(
            fields, "h2_max_continuation_frames", at: "server", in: 1...1_000, into: &server.h2MaxContinuationFrames)
        return server
    }
}
