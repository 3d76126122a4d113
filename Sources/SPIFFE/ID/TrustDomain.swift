/// A SPIFFE trust domain: the authority part of a SPIFFE ID, such as `example.org`.
///
/// A trust domain name is made of lower-case letters, digits, `.`, `-` and `_`, at most
/// 255 bytes long. Values of this type are always valid.
public struct TrustDomain: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The longest trust domain name a URI host may carry.
    public static let maximumLength = 255

    /// The trust domain name, e.g. `example.org`.
    public let name: String

    /// Parses a trust domain name (`example.org`) or the trust domain of a SPIFFE ID
    /// (`spiffe://example.org/…`), strictly.
    ///
    /// - Throws: ``SPIFFEIDError`` naming the rule that was broken.
    public init(_ nameOrID: String) throws(SPIFFEIDError) {
        if nameOrID.hasPrefix(SPIFFEID.schemePrefix) || nameOrID.contains("://") {
            self = try SPIFFEID(nameOrID).trustDomain
            return
        }
        try Self.validate(name: Substring(nameOrID))
        self.name = nameOrID
    }

    /// Parses a trust domain leniently: upper-case letters are lowered and a SPIFFE ID is
    /// reduced to its trust domain. Every other rule still applies.
    public init(normalizing nameOrID: String) throws(SPIFFEIDError) {
        if let range = nameOrID.range(of: "://") {
            let scheme = nameOrID[..<range.lowerBound].lowercased()
            let rest = nameOrID[range.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            try self.init(scheme + "://" + rest[..<authorityEnd].lowercased() + rest[authorityEnd...])
        } else {
            try self.init(nameOrID.lowercased())
        }
    }

    init(uncheckedName: Substring) {
        self.name = String(uncheckedName)
    }

    /// The SPIFFE ID of the trust domain itself, e.g. `spiffe://example.org`.
    public var id: SPIFFEID { SPIFFEID(trustDomain: self, uncheckedPath: "") }

    public var description: String { name }

    public static func < (lhs: TrustDomain, rhs: TrustDomain) -> Bool { lhs.name < rhs.name }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(String.self)
        do {
            try self.init(value)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    static func validate(name: Substring) throws(SPIFFEIDError) {
        if name.isEmpty { throw .missingTrustDomain }
        // Scalars, not Characters: a combining mark must not hide behind an allowed base letter.
        for (offset, scalar) in name.unicodeScalars.enumerated() {
            switch scalar {
            case "a"..."z", "0"..."9", ".", "-", "_":
                continue
            case ":":
                throw .portNotAllowed
            case "@":
                throw .userInfoNotAllowed
            default:
                throw .invalidTrustDomainCharacter(Character(scalar), offset: offset)
            }
        }
        if name.utf8.count > maximumLength { throw .trustDomainTooLong(length: name.utf8.count) }
    }
}
