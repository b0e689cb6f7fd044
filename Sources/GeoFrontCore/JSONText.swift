/// Small helpers for JSON assembled by hand (field order as written, no Foundation encoder):
/// `route --json`, the simulator, the admin API and the access log.
public enum JSONText {
    /// A JSON string literal. Control characters are escaped; with `asciiOnly`, so is everything
    /// outside printable ASCII (one log record stays one line of plain text).
    public static func string(_ text: String, asciiOnly: Bool = false) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case _ where scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7e):
                guard scalar.value <= 0xffff else {
                    output += "?"
                    continue
                }
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }

    /// An object from fields whose values are already JSON.
    public static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }
}
