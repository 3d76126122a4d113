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
    /// A value already written in canonical form (``objectOfStrings(_:)``'s output), written as is:
    /// lets text that is needed on its own as well be written once.
    case canonical(String)

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
            Self.writeObject(members, into: &output) { value, output in value.write(into: &output) }
        case .canonical(let text):
            output += text
        }
    }

    /// The canonical text of an object whose members are all strings (no intermediate values).
    static func objectOfStrings(_ members: [String: String]) -> String {
        var output = ""
        writeObject(members, into: &output) { value, output in writeString(value, into: &output) }
        return output
    }

    /// Writes an object: members sorted by the UTF-16 code units of their keys.
    private static func writeObject<Value>(
        _ members: [String: Value], into output: inout String, value writeValue: (Value, inout String) -> Void
    ) {
        output += "{"
        for (index, key) in members.keys.sorted(by: { $0.utf16.lexicographicallyPrecedes($1.utf16) }).enumerated() {
            if index > 0 { output += "," }
            writeString(key, into: &output)
            output += ":"
            if let value = members[key] { writeValue(value, &output) }
        }
        output += "}"
    }

    /// Writes `value` as a JSON string. Runs of characters that need no escaping are appended
    /// whole: a string that is itself JSON text (an audit record's `lineage_layers`) has a quote
    /// every few characters, and appending it scalar by scalar was most of an issuance's audit
    /// record.
    static func writeString(_ value: String, into output: inout String) {
        output += "\""
        let utf8 = value.utf8
        var runStart = utf8.startIndex
        var index = runStart
        while index != utf8.endIndex {
            let byte = utf8[index]
            // Every byte that needs escaping is ASCII, so these indices fall between scalars.
            guard byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 else {
                utf8.formIndex(after: &index)
                continue
            }
            output += value[runStart..<index]
            switch byte {
            case UInt8(ascii: "\""): output += "\\\""
            case UInt8(ascii: "\\"): output += "\\\\"
            case 0x08: output += "\\b"
            case 0x0C: output += "\\f"
            case UInt8(ascii: "\n"): output += "\\n"
            case UInt8(ascii: "\r"): output += "\\r"
            case UInt8(ascii: "\t"): output += "\\t"
            default:
                let hex = String(byte, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
            utf8.formIndex(after: &index)
            runStart = index
        }
        output += value[runStart..<utf8.endIndex]
        output += "\""
    }
}
