/// A property of a node or workload that attestation proved, written `type:value`
/// (for example `unix:uid:1000`: type `unix`, value `uid:1000`).
///
/// Entries list the selectors a caller must have; a caller matches an entry when it has all of them.
public struct Selector: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// The longest selector accepted, in bytes.
    public static let maximumLength = 1024

    /// The attestor that produces it: `unix`, `tpm`, `join_token`, …
    public let type: String
    /// What it says, e.g. `uid:1000` or `sha256:…`.
    public let value: String

    public init(type: String, value: String) throws(SelectorError) {
        guard !type.isEmpty else { throw .emptyType }
        for scalar in type.unicodeScalars {
            switch scalar {
            case "a"..."z", "0"..."9", "_", "-": continue
            default: throw .invalidType(type)
            }
        }
        guard !value.isEmpty else { throw .emptyValue(type: type) }
        guard !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .controlCharacter
        }
        guard type.utf8.count + 1 + value.utf8.count <= Self.maximumLength else {
            throw .tooLong(type.utf8.count + 1 + value.utf8.count)
        }
        self.type = type
        self.value = value
    }

    /// Parses `type:value`.
    public init(_ string: String) throws(SelectorError) {
        guard let colon = string.firstIndex(of: ":") else { throw .missingColon(string) }
        try self.init(type: String(string[..<colon]), value: String(string[string.index(after: colon)...]))
    }

    /// A selector built by an attestor from values it computed itself.
    init(trusted type: String, _ value: String) {
        self.type = type
        self.value = value
    }

    public var description: String { "\(type):\(value)" }

    public static func < (lhs: Selector, rhs: Selector) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            try self.init(string)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Why a selector was refused.
public enum SelectorError: Error, Hashable, Sendable, CustomStringConvertible {
    case missingColon(String)
    case emptyType
    case invalidType(String)
    case emptyValue(type: String)
    case controlCharacter
    case tooLong(Int)

    public var description: String {
        switch self {
        case .missingColon(let string): return "selector '\(string)' must be written type:value (e.g. unix:uid:1000)"
        case .emptyType: return "selector type is empty; write type:value (e.g. unix:uid:1000)"
        case .invalidType(let type): return "selector type '\(type)' may only contain a-z, 0-9, '_' and '-'"
        case .emptyValue(let type): return "selector '\(type):' has an empty value"
        case .controlCharacter: return "selector value contains a control character"
        case .tooLong(let length): return "selector is \(length) bytes; the limit is \(Selector.maximumLength)"
        }
    }
}

extension Collection<Selector> {
    /// Whether every selector of `required` is in this collection (an entry's selectors are all
    /// present in what attestation found).
    public func satisfies(_ required: some Collection<Selector>) -> Bool {
        let available = Set(self)
        return required.allSatisfy(available.contains)
    }
}
