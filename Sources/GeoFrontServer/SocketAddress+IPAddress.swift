import GeoIP
import NIOCore

extension IPAddress {
    /// The IP of a socket address; nil for Unix domain sockets.
    init?(_ socketAddress: SocketAddress?) {
        switch socketAddress {
        case .v4(let address):
            self.init(v4: UInt32(bigEndian: address.address.sin_addr.s_addr))
        case .v6(let address):
            var storage = address.address.sin6_addr
            let (high, low) = withUnsafeBytes(of: &storage) { raw in
                (
                    UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                    UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                )
            }
            self = IPAddress(v6: high, low).unmapped
        case .unixDomainSocket, .none:
            return nil
        }
    }
}
