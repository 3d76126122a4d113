/// A JSON value written in one canonical form (RFC 8785 style): object members sorted by the UTF-16
/// code units of their keys, no whitespace, strings escaped minimally, integers in decimal.
///
/// Used wherever bytes must not depend on the JSON encoder of the day: the audit chain's hashes and
/// the datastore's selector column, whose text is part of a unique index.
enum CanonicalJSON: Hashable, Sendable {
    case string(String)
    case integer(Int64)
    case array([CanonicalJSON])
    case object([String: CanonicalJSON])

    /// A JSON array of strings.
    static func strings(_ values: [String]) -> CanonicalJSON { .array(values.map(CanonicalJSON.string)) }

    /// The canonical text.
    var text: String {
        var output = ""
        write(into: &output)
        return output
    }

    func write(into output: inout String) {
        switch self {
        case .string(let value):
            Self.writeString(value, into: &output)
        case .integer(let value):
            output += String(value)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                element.write(into: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            let keys = members.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
            for (index, key) in keys.enumerated() {
                if index > 0 { output += "," }
                Self.writeString(key, into: &output)
                output += ":"
                members[key]?.write(into: &output)
            }
            output += "}"
        }
    }

    private static func writeString(_ value: String, into output: inout String) {
        output += "\""
        // Most strings (IDs, serials, hashes, times) need no escaping: append them whole.
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }) else {
            output += value
            output += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
