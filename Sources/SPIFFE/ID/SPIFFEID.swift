/// A SPIFFE ID: `spiffe://<trust domain>/<path>`, validated per the SPIFFE-ID specification.
///
/// Values of this type are always valid: the trust domain is lower case `[a-z0-9.-_]`, path
/// segments are `[a-zA-Z0-9.-_]`, there are no empty, `.` or `..` segments, no trailing slash,
/// no port, user info, query or fragment, and the whole ID is at most 2048 bytes.
public struct SPIFFEID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The longest SPIFFE ID the specification requires implementations to support.
    public static let maximumLength = 2048
    static let schemePrefix = "spiffe://"

    /// The trust domain the ID belongs to.
    public let trustDomain: TrustDomain
    /// The path, either empty or starting with `/` (e.g. `/ci/runner`).
    public let path: String

    /// Parses a SPIFFE ID strictly.
    ///
    /// - Throws: ``SPIFFEIDError`` naming the rule that was broken.
    public init(_ string: String) throws(SPIFFEIDError) {
        // Most IDs are valid: checked byte by byte, in one pass. Anything else is checked rule by
        // rule, to say which rule it breaks.
        let parts: (trustDomain: Substring, path: Substring)
        if let valid = Self.validParts(of: string) { parts = valid } else { parts = try Self.checkedParts(of: string) }
        self.trustDomain = TrustDomain(uncheckedName: parts.trustDomain)
        self.path = String(parts.path)
        self.description = string
    }

    /// The trust domain name and path of `string`, each rule checked in turn.
    /// - Throws: the first rule `string` breaks.
    static func checkedParts(of string: String) throws(SPIFFEIDError) -> (trustDomain: Substring, path: Substring) {
        if string.isEmpty { throw .empty }
        if string.utf8.count > Self.maximumLength { throw .tooLong(length: string.utf8.count) }
        guard string.hasPrefix(Self.schemePrefix) else {
            let scheme = string.range(of: "://").map { String(string[..<$0.lowerBound]) } ?? ""
            throw .wrongScheme(found: scheme)
        }
        let rest = string.dropFirst(Self.schemePrefix.count)
        if rest.contains("#") { throw .fragmentNotAllowed }
        if rest.contains("?") { throw .queryNotAllowed }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        try TrustDomain.validate(name: authority)
        let path = rest[slash...]
        try Self.validate(path: path)
        return (authority, path)
    }

    /// Builds a SPIFFE ID from a trust domain and a path (`/a/b`, or empty for the trust domain's own ID).
    public init(trustDomain: TrustDomain, path: String) throws(SPIFFEIDError) {
        try Self.validate(path: Substring(path))
        let length = Self.schemePrefix.utf8.count + trustDomain.name.utf8.count + path.utf8.count
        if length > Self.maximumLength { throw .tooLong(length: length) }
        self.trustDomain = trustDomain
        self.path = path
        self.description = Self.schemePrefix + trustDomain.name + path
    }

    /// Builds a SPIFFE ID from a trust domain and path segments, each validated.
    public init(trustDomain: TrustDomain, segments: [String]) throws(SPIFFEIDError) {
        for segment in segments { try Self.validate(segment: segment) }
        try self.init(trustDomain: trustDomain, path: segments.map { "/" + $0 }.joined())
    }

    init(trustDomain: TrustDomain, uncheckedPath: String) {
        self.trustDomain = trustDomain
        self.path = uncheckedPath
        self.description = Self.schemePrefix + trustDomain.name + uncheckedPath
    }

    /// The path's segments, e.g. `["ci", "runner"]`.
    public var segments: [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    /// The ID as a URI string.
    public let description: String

    // The text determines the trust domain and path: it alone is compared and hashed.
    public static func == (lhs: SPIFFEID, rhs: SPIFFEID) -> Bool { lhs.description == rhs.description }

    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    /// Whether the ID is in `trustDomain`.
    public func isMember(of trustDomain: TrustDomain) -> Bool { self.trustDomain == trustDomain }

    /// Whether this ID lies strictly below `ancestor` in the path hierarchy
    /// (`spiffe://td/a/b` is below `spiffe://td/a`, but `spiffe://td/ab` is not).
    public func isDescendant(of ancestor: SPIFFEID) -> Bool {
        guard trustDomain == ancestor.trustDomain, path.count > ancestor.path.count else { return false }
        return path.hasPrefix(ancestor.path + "/")
    }

    /// This ID with `segment` appended.
    public func appending(_ segment: String) throws(SPIFFEIDError) -> SPIFFEID {
        try Self.validate(segment: segment)
        return try SPIFFEID(trustDomain: trustDomain, path: path + "/" + segment)
    }

    public static func < (lhs: SPIFFEID, rhs: SPIFFEID) -> Bool { lhs.description < rhs.description }

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
        try container.encode(description)
    }

    /// The trust domain name and path of `string` if it is a valid SPIFFE ID, checked in one pass
    /// over its bytes; nil otherwise. It accepts exactly what the rule-by-rule checks of
    /// ``init(_:)`` accept: every character a valid ID may hold is ASCII.
    static func validParts(of string: String) -> (trustDomain: Substring, path: Substring)? {
        let utf8 = string.utf8
        guard utf8.count <= maximumLength else { return nil }
        var index = utf8.startIndex
        for byte in schemePrefix.utf8 {
            guard index != utf8.endIndex, utf8[index] == byte else { return nil }
            utf8.formIndex(after: &index)
        }
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        let domainStart = index
        var domainLength = 0
        while index != utf8.endIndex, utf8[index] != slash {
            switch utf8[index] {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), dot, UInt8(ascii: "-"), UInt8(ascii: "_"):
                domainLength += 1
            default:
                return nil
            }
            utf8.formIndex(after: &index)
        }
        guard domainLength > 0, domainLength <= TrustDomain.maximumLength else { return nil }
        let pathStart = index
        // At a "/": one segment follows, non-empty, not "." or "..".
        while index != utf8.endIndex {
            utf8.formIndex(after: &index)
            var length = 0, dots = 0
            while index != utf8.endIndex, utf8[index] != slash {
                switch utf8[index] {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "_"):
                    length += 1
                case dot:
                    length += 1
                    dots += 1
                default:
                    return nil
                }
                utf8.formIndex(after: &index)
            }
            guard length > 0, !(length <= 2 && dots == length) else { return nil }
        }
        return (string[domainStart..<pathStart], string[pathStart...])
    }

    /// A single segment must not be empty nor smuggle in a `/` (which would add segments).
    static func validate(segment: String) throws(SPIFFEIDError) {
        if segment.isEmpty { throw .emptyPathSegment }
        if segment.contains("/") { throw .invalidPathCharacter("/", segment: segment) }
    }

    static func validate(path: Substring) throws(SPIFFEIDError) {
        if path.isEmpty { return }
        guard path.first == "/" else { throw .pathMissingLeadingSlash }
        if path.last == "/" {
            // A path of just "/" or ending in "/": name the more specific rule for "//".
            if path.hasSuffix("//") { throw .emptyPathSegment }
            throw .trailingSlash
        }
        for segment in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { throw .emptyPathSegment }
            if segment == "." || segment == ".." { throw .dotPathSegment(String(segment)) }
            for scalar in segment.unicodeScalars {
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", ".", "-", "_":
                    continue
                default:
                    throw .invalidPathCharacter(Character(scalar), segment: String(segment))
                }
            }
        }
    }
}
