import GeoFrontCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension CheckConfigCommand {
    /// check-config's warnings about `routes`: a `warning: …` line for each route that can never
    /// match (``RoutesConfig/neverMatching()``), in file order. They do not change the exit status.
    static func routeWarnings(_ routes: RoutesConfig) -> [String] {
        routes.neverMatching().map { "warning: " + $0.message }
    }

    /// Writes ``routeWarnings(_:)`` to standard error, one line each.
    static func printRouteWarnings(_ routes: RoutesConfig) {
        for warning in routeWarnings(routes) {
            let line = warning + "\n"
            _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        }
    }
}
