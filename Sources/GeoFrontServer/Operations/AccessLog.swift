import Foundation
import GeoFrontCore
import GeoIP
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// The access log: one line per request (JSON or text), appended to a file or standard output.
/// Event loops only format the line and queue it; a background thread does the writing, so a
/// slow disk never stalls a request.
final class AccessLog: Sendable {
    struct Entry {
        var client: IPAddress
        var country: TwoLetterCode?
        var region: String
        var mode: String
        var method: String
        var target: String
        var status: Int
        var durationMicroseconds: Int
        /// The traffic policy that applied to the client, if one did.
        var policy: String? = nil
        /// How the cache took part (`hit`, `miss`, `stale`, `revalidated`, `bypass`), when it did.
        var cache: String? = nil
        /// The request came as an HTTP/2 stream (else HTTP/1.x).
        var http2 = false
    }

    struct OpenError: Error, CustomStringConvertible {
        let description: String
    }

    private let format: AccessLogSettings.Format
    private let descriptor: Int32
    private let pending = NIOLockedValueBox<(lines: [String], closed: Bool)>(([], false))
    private let finished = NIOLockedValueBox(false)

    init(settings: AccessLogSettings) throws {
        format = settings.format
        if let path = settings.path {
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw OpenError(description: "access_log.path: \(path): \(String(cString: strerror(errno)))")
            }
            descriptor = fd
        } else {
            descriptor = STDOUT_FILENO
        }
        let thread = Thread { [self] in self.writeLoop() }
        thread.start()
    }

    func log(_ entry: Entry) {
        let line = format == .json ? json(entry) : text(entry)
        pending.withLockedValue { $0.lines.append(line) }
    }

    /// Writes what is queued and stops the writer.
    func close() {
        pending.withLockedValue { $0.closed = true }
        for _ in 0..<200 where !finished.withLockedValue({ $0 }) { usleep(5_000) }
    }

    private func writeLoop() {
        while true {
            let (lines, closed) = pending.withLockedValue { state -> ([String], Bool) in
                defer { state.lines.removeAll(keepingCapacity: true) }
                return (state.lines, state.closed)
            }
            if !lines.isEmpty {
                var block = lines.joined(separator: "\n")
                block += "\n"
                block.withUTF8 { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                        if written <= 0 { break }
                        offset += written
                    }
                }
            }
            if closed {
                if descriptor != STDOUT_FILENO { Glibc.close(descriptor) }
                finished.withLockedValue { $0 = true }
                return
            }
            usleep(50_000)
        }
    }

    private func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):"
            + "\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }

    private func json(_ entry: Entry) -> String {
        let duration = Double(entry.durationMicroseconds) / 1000
        return "{\"time\":\"\(timestamp())\",\"client\":\"\(entry.client)\",\"country\":"
            + (entry.country.map { "\"\($0)\"" } ?? "null")
            + ",\"region\":\"\(entry.region)\",\"mode\":\"\(entry.mode)\","
            + "\"method\":\(JSONText.string(entry.method, asciiOnly: true)),\"target\":\(JSONText.string(entry.target, asciiOnly: true)),\"status\":\(entry.status),"
            + "\"duration_ms\":\(duration),\"protocol\":\(entry.http2 ? "\"h2\"" : "\"http/1.1\"")"
            + (entry.policy.map { ",\"policy\":\(JSONText.string($0, asciiOnly: true))" } ?? "")
            + (entry.cache.map { ",\"cache\":\"\($0)\"}" } ?? "}")
    }

    private func text(_ entry: Entry) -> String {
        let duration = Double(entry.durationMicroseconds) / 1000
        return "\(timestamp()) \(entry.client) \(entry.country?.description ?? "-") \(entry.region) \(entry.mode) "
            + "\(JSONText.string(entry.method + " " + entry.target, asciiOnly: true)) \(entry.status) \(duration)ms"
            + (entry.policy.map { " policy=\($0)" } ?? "") + (entry.cache.map { " cache=\($0)" } ?? "")
            + (entry.http2 ? " h2" : "")
    }

}
