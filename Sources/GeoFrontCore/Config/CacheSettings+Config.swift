// The readers of the top-level `cache` and of a route's or a service's `cache` (called by
// ConfigLoader, RouteConfig.read and ServiceConfig.read).

extension CacheSettings {
    /// The keys of the top-level `cache`.
    static let configKeys = ["memory_mb", "max_object_kb", "stale_if_error_s", "stale_while_revalidate_s", "key"]

    /// The top-level `cache`: an object of ``configKeys``, `true` (every default), or `false` or
    /// `null` (off). Nil when off or when anything was reported.
    static func read(_ value: JSONValue?, reader: inout ConfigReader) -> CacheSettings? {
        let path = "cache"
        guard let value, value != .null, value != .bool(false) else { return nil }
        if value == .bool(true) { return CacheSettings() }
        guard case .object = value else {
            reader.fail(path, "expected an object, true, false or null, found \(value.kind)")
            return nil
        }
        let before = reader.issues.count
        guard let fields = reader.object(value, at: path, allowed: configKeys) else { return nil }
        var settings = CacheSettings()
        reader.integer(fields, "memory_mb", at: path, in: 1...maxMemoryMB, into: &settings.memoryMB)
        let keys = CacheSettingsOverride.read(fields, at: path, reader: &reader)
        settings = keys.applied(to: settings)
        if keys.maxObjectKB != nil && reader.issues.count == before {
            settings.checkMaxObject(at: path, reader: &reader)
        }
        guard reader.issues.count == before else { return nil }
        return settings
    }

    /// `max_object_kb` (at `parent.max_object_kb`) must fit in `memory_mb`.
    func checkMaxObject(at parent: String, reader: inout ConfigReader) {
        guard maxObjectKB > memoryMB * 1024 else { return }
        reader.fail(
            ConfigReader.join(parent, "max_object_kb"),
            "\(maxObjectKB) KiB is more than the cache holds (memory_mb \(memoryMB) = \(memoryMB * 1024) KiB)")
    }

    /// The checks between the top-level `cache` and the routes' and services' (made once both are
    /// read): without a top level, a `cache` that turns the cache on is refused (the cache is off);
    /// with one, each `max_object_kb` must fit in its `memory_mb`. `top` is nil when the file has no
    /// top-level `cache` (or `false`/`null`); call this only when the top level was valid or absent.
    static func checkOverrides(_ routes: RoutesConfig, top: CacheSettings?, reader: inout ConfigReader) {
        var given: [(path: String, cache: CacheOverride)] = []
        for service in routes.services {
            if let cache = service.cache {
                given.append((ConfigReader.join(ConfigReader.join("services", service.name), "cache"), cache))
            }
        }
        for (index, route) in routes.routes.enumerated() {
            if let cache = route.cache { given.append((ConfigReader.join("routes", index) + ".cache", cache)) }
        }
        for (path, cache) in given {
            guard case .on(let keys) = cache else { continue }
            guard let top else {
                reader.fail(path, "turns on a cache that is off: there is no top-level cache (its memory_mb is global)")
                continue
            }
            if keys.maxObjectKB != nil { keys.applied(to: top).checkMaxObject(at: path, reader: &reader) }
        }
    }
}

extension CacheSettingsOverride {
    /// The keys an override may set: the top level's but `memory_mb`.
    static let configKeys = CacheSettings.configKeys.filter { $0 != "memory_mb" }

    /// The keys of a `cache` object at `path` but `memory_mb` (read by the caller at the top level):
    /// the ones given, each checked.
    static func read(_ fields: [String: JSONValue], at path: String, reader: inout ConfigReader)
        -> CacheSettingsOverride
    {
        func key(_ name: String) -> String { ConfigReader.join(path, name) }
        var keys = CacheSettingsOverride()
        if let value = fields["max_object_kb"] {
            keys.maxObjectKB = reader.integer(
                value, at: key("max_object_kb"), in: 1...(CacheSettings.maxMemoryMB * 1024))
        }
        for (name, target) in [
            ("stale_if_error_s", \CacheSettingsOverride.staleIfErrorSeconds),
            ("stale_while_revalidate_s", \.staleWhileRevalidateSeconds),
        ] {
            if let value = fields[name] {
                keys[keyPath: target] = reader.integer(value, at: key(name), in: 0...CacheSettings.maxStaleSeconds)
            }
        }
        if let value = fields["key"], value != .null,
            let keyFields = reader.object(value, at: key("key"), allowed: ["include_region", "query"])
        {
            if let flag = keyFields["include_region"] {
                keys.includeRegion = reader.bool(flag, at: ConfigReader.join(key("key"), "include_region"))
            }
            if let query = keyFields["query"] {
                keys.query = CacheQueryPolicy.read(query, at: ConfigReader.join(key("key"), "query"), reader: &reader)
            }
        }
        return keys
    }
}

extension CacheOverride {
    /// A route's or a service's `cache`: `false`, `true`, or an object of the top-level keys but
    /// `memory_mb`. Nil when `null` or when anything was reported.
    static func read(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> CacheOverride? {
        switch value {
        case .null: return nil
        case .bool(let flag): return flag ? .inherit : .off
        case .object(var fields):
            let before = reader.issues.count
            if fields.removeValue(forKey: "memory_mb") != nil {
                reader.fail(
                    ConfigReader.join(path, "memory_mb"),
                    "is global: set it in the top-level cache (one memory budget for every route and service)")
            }
            guard reader.object(.object(fields), at: path, allowed: CacheSettingsOverride.configKeys) != nil
            else { return nil }
            let keys = CacheSettingsOverride.read(fields, at: path, reader: &reader)
            return reader.issues.count == before ? .on(keys) : nil
        default:
            reader.fail(path, "expected an object, true, false or null, found \(value.kind)")
            return nil
        }
    }
}

extension CacheQueryPolicy {
    /// `key.query`: `"all"`, `"none"` or an array of parameter names (kept sorted, each once).
    static func read(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> CacheQueryPolicy? {
        switch value {
        case .string("all"): return .all
        case .string("none"): return CacheQueryPolicy.none
        case .string:
            reader.fail(path, "\(value.brief) is not a query policy; allowed: \"all\", \"none\" or an array of names")
            return nil
        case .array(let items):
            guard !items.isEmpty else {
                reader.fail(path, "needs at least one parameter name (\"none\" drops the query)")
                return nil
            }
            var names: Set<String> = []
            var valid = true
            for (index, item) in items.enumerated() {
                let itemPath = ConfigReader.join(path, index)
                guard let name = reader.nonEmptyString(item, at: itemPath) else {
                    valid = false
                    continue
                }
                if name.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f || $0 == 0x26 || $0 == 0x3d || $0 == 0x23 }) {
                    reader.fail(
                        itemPath, "\(item.brief) is not a parameter name (no spaces, controls, \"&\", \"=\" or \"#\")")
                    valid = false
                    continue
                }
                names.insert(name)
            }
            return valid ? .allow(names.sorted()) : nil
        default:
            reader.fail(path, "expected \"all\", \"none\" or an array of names, found \(value.kind)")
            return nil
        }
    }
}
