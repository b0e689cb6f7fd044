import Foundation

/// A keep-alive HTTP/1.1 client that behaves like a real one (browsers, curl, HTTP libraries)
/// where ``RawHTTPClient`` deliberately does not: after a `Connection: close` response it opens
/// a new connection for the next request, and when the connection turns out to be closed between
/// requests (the send fails, or EOF arrives before any byte of the response) it reconnects and
/// resends the request once if it is idempotent. Any other failure (no answer in time, a cut or
/// malformed response) is thrown: that is a request that failed.
///
/// For tests that loop many requests over keep-alive, so that server-side connection limits
/// (`server.max_requests_per_connection`, idle timeouts) are exercised instead of silently
/// turning every later request into a failure. One thread at a time.
public final class ReconnectingHTTPClient {
    public let host: String
    public let port: Int
    public let source: String?
    public let timeoutSeconds: Int
    private var connection: RawHTTPClient?

    /// TCP connections opened so far.
    public private(set) var connections = 0
    /// Responses that carried `Connection: close` (the server ending the connection after them).
    public private(set) var closeResponses = 0
    /// Requests sent again on a new connection because the old one was closed under them.
    public private(set) var resends = 0

    /// Connections opened after the first.
    public var reconnects: Int { max(0, connections - 1) }

    public init(host: String = "127.0.0.1", port: Int, source: String? = nil, timeoutSeconds: Int = 5) {
        self.host = host
        self.port = port
        self.source = source
        self.timeoutSeconds = timeoutSeconds
    }

    /// Sends `request` (a whole request, head and body) and reads its response, on the current
    /// connection or a new one.
    public func exchange(_ request: String) throws -> RawHTTPResponse {
        let idempotent = ["GET ", "HEAD ", "OPTIONS ", "PUT ", "DELETE ", "TRACE "].contains { request.hasPrefix($0) }
        let reused = connection != nil
        do {
            return try attempt(request)
        } catch let error as RawHTTPError where error.closedBeforeResponse && reused && idempotent {
            // The server closed the kept-alive connection before it saw this request (an idle
            // timeout, a restart): exactly the case real clients retry once on a fresh connection.
            connection = nil
            resends += 1
            return try attempt(request)
        }
    }

    private func attempt(_ request: String) throws -> RawHTTPResponse {
        let client: RawHTTPClient
        if let connection {
            client = connection
        } else {
            client = try RawHTTPClient(host: host, port: port, source: source, timeoutSeconds: timeoutSeconds)
            connections += 1
            connection = client
        }
        let response: RawHTTPResponse
        do {
            response = try client.exchange(request)
        } catch {
            connection = nil  // never reuse a connection in an unknown state
            throw error
        }
        let tokens = response.headers("connection").flatMap { $0.lowercased().split(separator: ",") }
        if tokens.contains(where: { $0.trimmingCharacters(in: .whitespaces) == "close" }) {
            closeResponses += 1
            connection = nil
        }
        return response
    }
}
