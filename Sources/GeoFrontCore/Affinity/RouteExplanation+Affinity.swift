extension RouteExplanation {
    /// `affinity`'s part of the explanation, one line: what the cookie said, whether it kept the
    /// client, the cookie the response sets. Nil without `affinity`.
    public var affinityText: String? {
        guard let affinity, let affinityCookie else { return nil }
        var text: String
        switch affinity.cookie {
        case .absent:
            text = "no \(affinityCookie.name) cookie"
        case .invalid(let problem):
            text = "ignored: \(Self.problemText(problem))"
        case .valid:
            let name = affinityCookie.region ?? "?"
            if affinity.kept {
                text = "\(name) (valid)"
            } else {
                text = "\(name) (valid) passed over: \(Self.passedOverText(affinity.passedOver))"
            }
        }
        if let value = affinityCookie.setValue { text += "; sets \(affinityCookie.name)=\(value)" }
        return text
    }

    static func problemText(_ problem: AffinityTable.Problem) -> String {
        switch problem {
        case .malformed: return "malformed (not REGION.TOKEN)"
        case .unknownRegion: return "unknown region"
        case .badSignature: return "bad signature"
        }
    }

    static func passedOverText(_ reason: AffinityOutcome.PassedOver?) -> String {
        switch reason {
        case .unavailable?: return "unavailable, the client moves"
        case .policyForbids?: return "the policy does not allow it"
        case .notServed?: return "the service does not run there"
        case .notRouted?: return "no route takes the request"
        case nil: return "?"
        }
    }

    var affinityJSON: String? {
        guard let affinity, let affinityCookie else { return nil }
        let state: String
        let region: String
        switch affinity.cookie {
        case .absent:
            (state, region) = ("absent", "null")
        case .invalid(let problem):
            (state, region) = (problem.rawValue, "null")
        case .valid:
            (state, region) = ("valid", affinityCookie.region.map { JSONText.string($0) } ?? "null")
        }
        return JSONText.object([
            ("cookie", JSONText.string(affinityCookie.name)),
            ("state", JSONText.string(state)),
            ("region", region),
            ("kept", affinity.kept ? "true" : "false"),
            ("passed_over", affinity.passedOver.map { JSONText.string($0.rawValue) } ?? "null"),
            ("set_cookie", affinityCookie.setValue.map { JSONText.string($0) } ?? "null"),
        ])
    }
}
