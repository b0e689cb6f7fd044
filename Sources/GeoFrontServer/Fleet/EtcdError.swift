import Foundation

/// A failed call to etcd, with etcd's own message when it sent one.
public struct EtcdError: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// The HTTP status of the gateway's answer (0: no answer).
    public let status: Int

    init(_ description: String, status: Int = 0) {
        self.description = description
        self.status = status
    }

    /// The gateway's error body (`{"error": "etcdserver: …", "code": N, …}`) as a message.
    static func fromResponse(status: Int, body: String) -> EtcdError {
        if let data = body.data(using: .utf8),
            let parsed = try? JSONDecoder().decode(EtcdWire.ErrorBody.self, from: data),
            let message = parsed.message ?? parsed.error
        {
            return EtcdError("etcd answered \(status): \(message)", status: status)
        }
        let brief = body.count > 200 ? String(body.prefix(200)) + "…" : body
        return EtcdError("etcd answered \(status)\(brief.isEmpty ? "" : ": \(brief)")", status: status)
    }
}
