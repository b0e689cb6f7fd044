import Foundation

/// A record GeoFront keeps in etcd (an instance's status, a health vote): written as JSON with
/// sorted keys, so the same record is always the same bytes.
public protocol EtcdRecord: Encodable {}

extension EtcdRecord {
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)) ?? Data()
    }
}
