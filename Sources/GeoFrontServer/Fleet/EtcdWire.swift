import Foundation

/// The JSON of etcd's v3 gateway (etcd 3.4): 64-bit numbers are strings, keys and values base64,
/// fields at their default value left out.
enum EtcdWire {
    /// A 64-bit number sent as a string (`"12"`) or, by some versions, as a number.
    struct Number: Decodable, Sendable {
        let value: Int64

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self), let number = Int64(text) {
                value = number
            } else {
                value = try container.decode(Int64.self)
            }
        }
    }

    struct Header: Decodable, Sendable {
        let revision: Number?
    }

    struct KeyValue: Decodable, Sendable {
        let key: String?
        let value: String?
        let modRevision: Number?
        let lease: Number?

        enum CodingKeys: String, CodingKey {
            case key, value, lease
            case modRevision = "mod_revision"
        }
    }

    struct RangeResponse: Decodable, Sendable {
        let header: Header?
        let kvs: [KeyValue]?
    }

    struct PutResponse: Decodable, Sendable {
        let header: Header?
    }

    struct LeaseGrantResponse: Decodable, Sendable {
        let id: Number?
        let ttl: Number?
        let error: String?

        enum CodingKeys: String, CodingKey {
            case id = "ID"
            case ttl = "TTL"
            case error
        }
    }

    struct LeaseKeepAliveResponse: Decodable, Sendable {
        struct Result: Decodable, Sendable {
            let id: Number?
            let ttl: Number?

            enum CodingKeys: String, CodingKey {
                case id = "ID"
                case ttl = "TTL"
            }
        }
        let result: Result?
        let error: ErrorBody?
    }

    struct AuthenticateResponse: Decodable, Sendable {
        let token: String?
    }

    struct Event: Decodable, Sendable {
        let type: String?
        let kv: KeyValue?
    }

    struct WatchMessage: Decodable, Sendable {
        struct Result: Decodable, Sendable {
            let header: Header?
            let created: Bool?
            let canceled: Bool?
            let compactRevision: Number?
            let cancelReason: String?
            let events: [Event]?

            enum CodingKeys: String, CodingKey {
                case header, created, canceled, events
                case compactRevision = "compact_revision"
                case cancelReason = "cancel_reason"
            }
        }
        let result: Result?
        let error: ErrorBody?

        /// The result of one message of a watch of `what` (nil: a message without one); an error,
        /// a cancellation or something other than the gateway's JSON is thrown.
        static func decodedResult(of message: Data, watching what: String) throws -> Result? {
            let decoded: WatchMessage
            do {
                decoded = try JSONDecoder().decode(WatchMessage.self, from: message)
            } catch {
                throw EtcdError("etcd's watch sent something other than JSON: \(error)")
            }
            if let error = decoded.error { throw EtcdError(error.message ?? error.error ?? "watch failed") }
            guard let result = decoded.result else { return nil }
            if result.canceled == true {
                throw EtcdError(
                    "etcd cancelled the watch of \(what)"
                        + (result.compactRevision.map { " (compacted to revision \($0.value))" } ?? "")
                        + (result.cancelReason.map { ": \($0)" } ?? ""))
            }
            return result
        }
    }

    /// What the gateway answers instead of a result (`{"error": …, "code": …, "message": …}`; a
    /// stream wraps it in `{"error": {…}}`).
    struct ErrorBody: Decodable, Sendable {
        let error: String?
        let message: String?
        let code: Int?
    }

    static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    static func decodeBase64(_ text: String?) -> Data {
        text.flatMap { Data(base64Encoded: $0) } ?? Data()
    }

    /// The end of the range of keys starting with `prefix` (the prefix with its last byte + 1).
    static func prefixEnd(_ prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return Data(bytes).base64EncodedString()
            }
            bytes.removeLast()
        }
        return Data([0]).base64EncodedString()
    }
}
