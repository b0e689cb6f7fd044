import GeoFrontCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension CheckConfigCommand {
    /// check-config's `cache` lines: the top level (memory, largest object, stale windows, key), then
    /// each service and route whose `cache` turns it off or changes it. Empty when the cache is off.
    static func cacheLines(_ config: GeoFrontConfig) -> [String] {
        guard let cache = config.cache else { return [] }
        var lines = ["  cache           " + describe(cache)]
        for service in config.routes?.services ?? [] {
            if let override = service.cache { lines.append("    service \(service.name): " + describe(override)) }
        }
        for route in config.routes?.routes ?? [] {
            if let override = route.cache { lines.append("    route \(route.name): " + describe(override)) }
        }
        return lines
    }

    /// `warning: …` lines about `cache`: set while nothing is proxied (only proxied responses are
    /// cached), or turned off by every route.
    static func cacheWarnings(_ config: GeoFrontConfig) -> [String] {
        guard config.cache != nil else { return [] }
        let proxied =
            if let routes = config.routes {
                routes.services.contains { $0.mode == .proxy }
            } else {
                config.regions.contains { $0.mode == .proxy }
            }
        if !proxied {
            return [
                "warning: cache is set but nothing is proxied (mode redirect everywhere): only proxied responses are cached"
            ]
        }
        if !config.cachePlan.isEverOn {
            return ["warning: cache is set but every route turns it off"]
        }
        return []
    }

    /// Writes `lines` to standard error, one each.
    static func printWarnings(_ lines: [String]) {
        for warning in lines {
            let line = warning + "\n"
            _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        }
    }

    static func describe(_ cache: CacheSettings) -> String {
        "\(cache.memoryMB) MiB, objects ≤ \(cache.maxObjectKB) KiB, "
            + "stale-if-error \(cache.staleIfErrorSeconds) s, stale-while-revalidate \(cache.staleWhileRevalidateSeconds) s, "
            + "key: " + describeKey(includeRegion: cache.includeRegion, query: cache.query)
    }

    static func describe(_ override: CacheOverride) -> String {
        guard case .on(let keys) = override else { return "off" }
        if keys.isEmpty { return "on" }
        var parts: [String] = []
        if let kb = keys.maxObjectKB { parts.append("objects ≤ \(kb) KiB") }
        if let seconds = keys.staleIfErrorSeconds { parts.append("stale-if-error \(seconds) s") }
        if let seconds = keys.staleWhileRevalidateSeconds { parts.append("stale-while-revalidate \(seconds) s") }
        if let region = keys.includeRegion { parts.append(region ? "key with region" : "key without region") }
        if let query = keys.query { parts.append("key " + describeQuery(query)) }
        return parts.joined(separator: ", ")
    }

    static func describeKey(includeRegion: Bool, query: CacheQueryPolicy) -> String {
        "URL (" + describeQuery(query) + ")" + (includeRegion ? " + region" : "")
    }

    static func describeQuery(_ query: CacheQueryPolicy) -> String {
        switch query {
        case .all: return "whole query"
        case .none: return "no query"
        case .allow(let names): return "query " + names.joined(separator: ",")
        }
    }
}
