import GeoFrontCore
import GeoIP
import NIOConcurrencyHelpers

/// `server.max_connections` and `server.max_connections_per_ip`: counted at accept and close
/// (a short lock per connection, never per request). A connection over a limit is closed at once,
/// before any byte is read.
final class ConnectionLimiter: Sendable {
    private let state = NIOLockedValueBox<(total: Int, perIP: [IPAddress: Int])>((0, [:]))

    enum Verdict {
        case accepted
        case overTotal
        case overPerIP
    }

    func acquire(_ peer: IPAddress, settings: ServerSettings) -> Verdict {
        state.withLockedValue { state in
            if settings.maxConnections > 0 && state.total >= settings.maxConnections { return .overTotal }
            let fromPeer = state.perIP[peer, default: 0]
            if settings.maxConnectionsPerIP > 0 && fromPeer >= settings.maxConnectionsPerIP { return .overPerIP }
            state.total += 1
            state.perIP[peer] = fromPeer + 1
            return .accepted
        }
    }

    func release(_ peer: IPAddress) {
        state.withLockedValue { state in
            state.total -= 1
            let left = state.perIP[peer, default: 1] - 1
            state.perIP[peer] = left > 0 ? left : nil
        }
    }

    var open: Int { state.withLockedValue { $0.total } }
}
