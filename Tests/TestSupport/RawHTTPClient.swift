import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One parsed HTTP/1.1 response.
public struct RawHTTPResponse: Sendable {
    public let status: Int
    /// Header names lower-cased, in order received.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name.lowercased() }?.value
    }

    public func headers(_ name: String) -> [String] {
        headers.filter { $0.name == name.lowercased() }.map(\.value)
    }
}

public struct RawHTTPError: Error, CustomStringConvertible {
    public let description: String
    /// The connection was found closed (EOF or reset) before any byte of a response arrived, or
    /// while the request was being sent: what a keep-alive connection the server closed between
    /// requests looks like. A real client reconnects and resends an idempotent request then.
    public let closedBeforeResponse: Bool

    public init(_ description: String, closedBeforeResponse: Bool = false) {
        self.description = description
        self.closedBeforeResponse = closedBeforeResponse
    }
}

/// A deliberately low-level HTTP/1.1 client over a blocking TCP socket: it sends exactly the
/// bytes a test gives it (malformed, pipelined, huge), and parses what comes back.
/// Every read has a timeout, so a test can never hang on it.
public final class RawHTTPClient {
    private let socket: Int32
    private var buffer: [UInt8] = []
    private var closedByPeer = false

    /// - Parameter source: a local IPv4 address to connect from (any of 127.0.0.0/8 works on
    ///   loopback), so tests can play trusted and untrusted peers.
    /// - Parameter receiveBufferBytes: a small `SO_RCVBUF` makes a client that does not read
    ///   fill its connection after a few kilobytes (send-timeout and backpressure tests).
    public init(
        host: String = "127.0.0.1", port: Int, source: String? = nil, timeoutSeconds: Int = 5,
        receiveBufferBytes: Int? = nil
    ) throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawHTTPError("socket() failed") }
        if let receiveBufferBytes {
            var size = Int32(receiveBufferBytes)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                close(fd)
                throw RawHTTPError("bind to \(source) failed: \(String(cString: strerror(errno)))")
            }
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw RawHTTPError("connect to \(host):\(port) failed: \(String(cString: strerror(errno)))")
        }
        socket = fd
    }

    deinit { close(socket) }

    /// Sends bytes as they are. Returns false if the peer has closed the connection.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads one response (head, then a Content-Length body). Throws on timeout or a closed
    /// connection before a whole response arrived.
    /// - Parameter toHead: the request was `HEAD`, so the response has no body whatever its
    ///   Content-Length says.
    /// - Parameter decodeChunked: a chunked body is read and decoded (else it is left unread).
    public func readResponse(toHead: Bool = false, decodeChunked: Bool = false) throws -> RawHTTPResponse {
        let headEnd = try readUntilHeadEnd()
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw RawHTTPError("bad status line in \(head.debugDescription)")
        }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else {
                throw RawHTTPError("bad header line \(line.debugDescription)")
            }
            headers.append(
                (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let chunked = headers.contains { $0.0 == "transfer-encoding" && $0.1.lowercased() == "chunked" }
        if decodeChunked, chunked, !toHead, status >= 200, status != 204, status != 304 {
            return RawHTTPResponse(status: status, headers: headers, body: try readChunkedBody())
        }
        let length = toHead || status < 200 ? 0 : Int(headers.first { $0.0 == "content-length" }?.1 ?? "0") ?? 0
        while buffer.count < length {
            guard try fill() else { throw RawHTTPError("connection closed inside a body") }
        }
        let body = Array(buffer[..<length])
        buffer.removeFirst(length)
        return RawHTTPResponse(status: status, headers: headers, body: body)
    }

    /// A chunked body's data (RFC 9112 §7.1), its trailer section skipped.
    private func readChunkedBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let lineEnd = try readUntil([13, 10])
            let sizeText = String(decoding: buffer[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw RawHTTPError("bad chunk size line")
            }
            buffer.removeFirst(lineEnd + 2)
            if size == 0 {
                while true {
                    let end = try readUntil([13, 10])
                    buffer.removeFirst(end + 2)
                    if end == 0 { return body }
                }
            }
            while buffer.count < size + 2 {
                guard try fill() else { throw RawHTTPError("connection closed inside a chunk") }
            }
            body += buffer[..<size]
            buffer.removeFirst(size + 2)
        }
    }

    /// The offset of `marker` in the buffer, reading until it is there.
    private func readUntil(_ marker: [UInt8]) throws -> Int {
        while true {
            if buffer.count >= marker.count {
                for start in 0...(buffer.count - marker.count)
                where Array(buffer[start..<(start + marker.count)]) == marker {
                    return start
                }
            }
            guard try fill() else { throw RawHTTPError("connection closed before a line ended") }
        }
    }

    /// Reads one response head and then counts its Content-Length body without keeping it
    /// (for very large downloads). Returns the status and the body bytes received.
    public func readResponseCountingBody() throws -> (status: Int, bodyBytes: Int) {
        let headEnd = try readUntilHeadEnd()
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        let lengthLine = lines.first { $0.lowercased().hasPrefix("content-length:") }
        let length = Int(lengthLine?.split(separator: ":")[1].trimmingCharacters(in: .whitespaces) ?? "0") ?? 0
        var received = buffer.count
        buffer.removeAll()
        while received < length {
            guard try fill() else { break }
            received += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }
        return (status, received)
    }

    /// Reads until `count` responses have arrived and tallies their status codes without parsing
    /// them (for floods of pipelined requests; assumes no body contains `HTTP/1.1 `).
    public func tallyStatuses(_ count: Int) throws -> [Int: Int] {
        var tally: [Int: Int] = [:]
        var found = 0
        let marker = Array("HTTP/1.1 ".utf8)
        let span = marker.count + 3
        while found < count {
            var consumed = 0
            buffer.withUnsafeBufferPointer { bytes in
                var index = 0
                while index + span <= bytes.count, found < count {
                    if bytes[index] == marker[0], bytes[index + 5] == marker[5], bytes[index + 8] == marker[8],
                        Array(bytes[index..<index + marker.count]) == marker
                    {
                        let digits = bytes[index + marker.count..<index + span]
                        let status = digits.reduce(0) { $0 * 10 + Int($1) - 48 }
                        tally[status, default: 0] += 1
                        found += 1
                        index += span
                    } else {
                        index += 1
                    }
                }
                consumed = index
            }
            buffer.removeFirst(consumed)
            if found < count {
                guard try fill() else { throw RawHTTPError("connection closed after \(found) of \(count) responses") }
            }
        }
        return tally
    }

    /// Exactly `count` bytes (after any response already read), for non-HTTP protocols after an
    /// upgrade.
    public func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw RawHTTPError("connection closed after \(buffer.count) of \(count) bytes") }
        }
        let bytes = Array(buffer[..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// Ends this side's output (a FIN: `shutdown(SHUT_WR)`); reading goes on.
    public func halfClose() {
        shutdown(socket, Int32(SHUT_WR))
    }

    /// Everything until the server closes the connection (after any response already read).
    public func readToClose() throws -> [UInt8] {
        while try fill() {}
        defer { buffer.removeAll() }
        return buffer
    }

    /// True when the server closes the connection (EOF) within the timeout, with nothing unread.
    public func waitForClose() -> Bool {
        while true {
            do {
                if try !fill() { return buffer.isEmpty }
            } catch {
                return false
            }
        }
    }

    /// Sends a request and reads its response.
    public func exchange(_ request: String) throws -> RawHTTPResponse {
        guard send(request) else { throw RawHTTPError("connection closed while sending", closedBeforeResponse: true) }
        return try readResponse(toHead: request.hasPrefix("HEAD "))
    }

    private func readUntilHeadEnd() throws -> Int {
        while true {
            if let end = indexOfHeadEnd() { return end }
            guard try fill() else {
                throw buffer.isEmpty
                    ? RawHTTPError("connection closed before a response", closedBeforeResponse: true)
                    : RawHTTPError("connection closed inside a response head")
            }
        }
    }

    private func indexOfHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }

    /// Reads more bytes; false on EOF (or reset), throws on timeout.
    private func fill() throws -> Bool {
        if closedByPeer { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer.append(contentsOf: chunk[..<count])
            return true
        }
        if count == 0 || errno == ECONNRESET {
            closedByPeer = true
            return false
        }
        throw RawHTTPError("timed out waiting for the server (\(String(cString: strerror(errno))))")
    }
}
