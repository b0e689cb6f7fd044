// The reader of the `routes` array: each route's name, backends, sticky key, rewrite, header edits
// and rollback (its `match` is read in RouteMatch+Config.swift). Called by RoutesConfig.read.

extension RouteConfig {
    /// The keys of a `routes` entry.
    static let configKeys = [
        "name", "match", "backends", "service", "sticky", "rewrite", "request_headers", "response_headers",
        "rollback", "cache",
    ]

    /// Reads the `routes` array: the valid routes in file order, and the names of every route with
    /// a valid name (for `default_route`).
    static func readAll(_ value: JSONValue, serviceNames: Set<String>, reader: inout ConfigReader)
        -> (routes: [RouteConfig], names: [String])
    {
        guard let items = reader.array(value, at: "routes") else { return ([], []) }
        var routes: [RouteConfig] = []
        var names: [String] = []
        var firstIndexByName: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = ConfigReader.join("routes", index)
            guard let fields = reader.object(item, at: path, allowed: configKeys) else { continue }
            let name = reader.uniqueName(
                fields, at: path, index: index, list: "routes", firstIndexByName: &firstIndexByName)
            if let name { names.append(name) }
            if let route = read(fields, at: path, name: name, serviceNames: serviceNames, reader: &reader) {
                routes.append(route)
            }
        }
        return (routes, names)
    }

    /// The rest of one route; nil when its name or anything else was reported.
    private static func read(
        _ fields: [String: JSONValue], at path: String, name: String?, serviceNames: Set<String>,
        reader: inout ConfigReader
    ) -> RouteConfig? {
        let before = reader.issues.count
        func key(_ name: String) -> String { ConfigReader.join(path, name) }
        var match = RouteMatch()
        if let value = fields["match"], value != .null {
            match = RouteMatch.read(value, at: key("match"), reader: &reader) ?? match
        }
        let backends = readBackends(fields, at: path, serviceNames: serviceNames, reader: &reader)
        var route = RouteConfig(name: name ?? "", match: match, backends: backends)
        if let value = fields["sticky"], value != .null {
            route.sticky = readSticky(value, at: key("sticky"), reader: &reader)
        }
        if let value = fields["rewrite"], value != .null,
            let rewrite = reader.object(value, at: key("rewrite"), allowed: ["path_prefix"]),
            let prefix = reader.required(rewrite, "path_prefix", at: key("rewrite"))
        {
            let prefixPath = ConfigReader.join(key("rewrite"), "path_prefix")
            if let text = reader.string(prefix, at: prefixPath) {
                if !RouteMatch.isPath(text) {
                    reader.fail(prefixPath, "\(prefix.brief) \(RouteMatch.pathRule)")
                } else if case .prefix = match.path {
                    route.rewritePathPrefix = text
                } else {
                    reader.fail(prefixPath, "needs a match.path.prefix: it replaces the matched prefix")
                }
            }
        }
        if let value = fields["request_headers"], value != .null {
            route.requestHeaders = HeaderEdits.read(value, at: key("request_headers"), reader: &reader)
        }
        if let value = fields["response_headers"], value != .null {
            route.responseHeaders = HeaderEdits.read(value, at: key("response_headers"), reader: &reader)
        }
        if let value = fields["rollback"], value != .null {
            route.rollback = RollbackSettings.read(value, at: key("rollback"), reader: &reader)
        }
        if let value = fields["cache"] {
            route.cache = CacheOverride.read(value, at: key("cache"), reader: &reader)
        }
        guard name != nil, reader.issues.count == before else { return nil }
        return route
    }

    /// `backends` ([{service, weight}]) or its shorthand `service` (one backend, weight 1).
    private static func readBackends(
        _ fields: [String: JSONValue], at path: String, serviceNames: Set<String>, reader: inout ConfigReader
    ) -> [RouteBackend] {
        func service(_ value: JSONValue, at path: String) -> String? {
            guard let name = reader.nonEmptyString(value, at: path) else { return nil }
            guard serviceNames.contains(name) else {
                reader.fail(path, RoutesConfig.unknownName(name, kind: "service", known: serviceNames.sorted()))
                return nil
            }
            return name
        }
        let backendsPath = ConfigReader.join(path, "backends")
        switch (fields["backends"], fields["service"]) {
        case (nil, nil), (.null?, nil), (nil, .null?), (.null?, .null?):
            reader.fail(path, "needs \"backends\" or \"service\"")
            return []
        case (.some, .some):
            reader.fail(ConfigReader.join(path, "service"), "give either backends or service, not both")
            return []
        case (nil, let value?):
            guard let name = service(value, at: ConfigReader.join(path, "service")) else { return [] }
            return [RouteBackend(service: name, weight: 1)]
        case (let value?, nil):
            guard let items = reader.array(value, at: backendsPath) else { return [] }
            if items.isEmpty { reader.fail(backendsPath, "needs at least one backend") }
            var backends: [RouteBackend] = []
            var firstIndexByService: [String: Int] = [:]
            var weighted = false
            for (index, item) in items.enumerated() {
                let itemPath = ConfigReader.join(backendsPath, index)
                guard let entry = reader.object(item, at: itemPath, allowed: ["service", "weight"]) else { continue }
                var weight: Int?
                if let value = reader.required(entry, "weight", at: itemPath) {
                    weight = reader.integer(value, at: ConfigReader.join(itemPath, "weight"), in: 0...1000)
                }
                guard let value = reader.required(entry, "service", at: itemPath),
                    let name = service(value, at: ConfigReader.join(itemPath, "service"))
                else { continue }
                if let first = firstIndexByService[name] {
                    reader.fail(
                        ConfigReader.join(itemPath, "service"),
                        "\(value.brief) is already the service of backends[\(first)]")
                    continue
                }
                firstIndexByService[name] = index
                guard let weight else { continue }
                weighted = weighted || weight > 0
                backends.append(RouteBackend(service: name, weight: weight))
            }
            if !backends.isEmpty && backends.count == items.count && !weighted {
                reader.fail(backendsPath, "every weight is 0: at least one backend needs a weight above 0")
            }
            return backends
        }
    }

    /// `{"cookie": NAME, "max_age_s": N}`, `{"header": NAME}` or `{"client_ip": true}`.
    private static func readSticky(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> StickyKey? {
        guard let fields = reader.object(value, at: path, allowed: ["cookie", "max_age_s", "header", "client_ip"])
        else { return nil }
        func key(_ name: String) -> String { ConfigReader.join(path, name) }
        let given = ["cookie", "header", "client_ip"].filter { fields[$0] != nil }
        guard given.count == 1 else {
            reader.fail(path, "needs exactly one of cookie, header or client_ip")
            return nil
        }
        if fields["max_age_s"] != nil && given[0] != "cookie" {
            reader.fail(key("max_age_s"), "is only for a cookie")
            return nil
        }
        switch given[0] {
        case "cookie":
            guard let name = reader.nonEmptyString(fields["cookie"]!, at: key("cookie")) else { return nil }
            guard HeaderEdits.isToken(name) else {
                reader.fail(key("cookie"), "\(fields["cookie"]!.brief) is not a cookie name")
                return nil
            }
            var maxAge: Int?
            if let value = fields["max_age_s"] {
                guard let seconds = reader.integer(value, at: key("max_age_s"), in: 1...315_360_000) else { return nil }
                maxAge = seconds
            }
            return .cookie(name: name, maxAgeSeconds: maxAge)
        case "header":
            guard let name = reader.nonEmptyString(fields["header"]!, at: key("header")) else { return nil }
            guard HeaderEdits.isToken(name) else {
                reader.fail(key("header"), "\(fields["header"]!.brief) is not a header name")
                return nil
            }
            return .header(name: name.lowercased())
        default:
            guard let flag = reader.bool(fields["client_ip"]!, at: key("client_ip")) else { return nil }
            guard flag else {
                reader.fail(key("client_ip"), "must be true (leave sticky out for no stickiness)")
                return nil
            }
            return .clientIP
        }
    }
}

extension HeaderEdits {
    /// Reads `request_headers` / `response_headers`: `set` and `add` (name → value), `remove` (names).
    static func read(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> HeaderEdits {
        var edits = HeaderEdits()
        guard let fields = reader.object(value, at: path, allowed: ["set", "add", "remove"]) else { return edits }
        for (name, keyPath) in [("set", \HeaderEdits.set), ("add", \.add)] where fields[name] != nil {
            let listPath = ConfigReader.join(path, name)
            guard case .object(let entries) = fields[name]! else {
                reader.fail(listPath, "expected an object of header names and values, found \(fields[name]!.kind)")
                continue
            }
            for header in entries.keys.sorted() {
                let headerPath = ConfigReader.join(listPath, header)
                guard isToken(header) else {
                    reader.fail(headerPath, "\(JSONValue.string(header).brief) is not a header name")
                    continue
                }
                guard let text = reader.string(entries[header]!, at: headerPath) else { continue }
                guard isFieldValue(text) else {
                    reader.fail(headerPath, "\(entries[header]!.brief) has a control or non-ASCII character")
                    continue
                }
                edits[keyPath: keyPath].append(NameValue(header.lowercased(), text))
            }
        }
        if let value = fields["remove"], let items = reader.array(value, at: ConfigReader.join(path, "remove")) {
            for (index, item) in items.enumerated() {
                let itemPath = ConfigReader.join(ConfigReader.join(path, "remove"), index)
                guard let name = reader.nonEmptyString(item, at: itemPath) else { continue }
                if isToken(name) {
                    edits.remove.append(name.lowercased())
                } else {
                    reader.fail(itemPath, "\(item.brief) is not a header name")
                }
            }
        }
        return edits
    }

    /// An RFC 9110 token: a header name, a method, a cookie name.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(RequestHeadParser.isTokenByte)
    }

    /// A field value: visible ASCII, spaces and tabs.
    static func isFieldValue(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 < 0x7f) }
    }
}

extension RollbackSettings {
    /// Reads `rollback`: `max_error_rate` (required, 0…1), `min_requests`, `window_s`.
    static func read(_ value: JSONValue, at path: String, reader: inout ConfigReader) -> RollbackSettings? {
        guard let fields = reader.object(value, at: path, allowed: ["max_error_rate", "min_requests", "window_s"]),
            let rateValue = reader.required(fields, "max_error_rate", at: path)
        else { return nil }
        let ratePath = ConfigReader.join(path, "max_error_rate")
        guard let rate = reader.number(rateValue, at: ratePath) else { return nil }
        guard rate >= 0 && rate <= 1 else {
            reader.fail(ratePath, "\(rateValue.brief) is outside 0…1 (a share: 0.05 is 5 %)")
            return nil
        }
        var settings = RollbackSettings(maxErrorRate: rate)
        reader.integer(fields, "min_requests", at: path, in: 1...1_000_000, into: &settings.minRequests)
        reader.integer(fields, "window_s", at: path, in: 1...86_400, into: &settings.windowSeconds)
        return settings
    }
}
