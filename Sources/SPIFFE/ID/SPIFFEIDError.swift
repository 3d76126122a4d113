/// Why a string is not a valid SPIFFE ID or trust domain name.
///
/// Each case names the rule of the SPIFFE-ID specification that the input broke, so that an
/// operator reading the message knows what to fix.
public enum SPIFFEIDError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input was empty.
    case empty
    /// The SPIFFE ID is longer than the 2048 bytes the specification allows.
    case tooLong(length: Int)
    /// The input does not start with `spiffe://`.
    case wrongScheme(found: String)
    /// There is nothing between `spiffe://` and the path.
    case missingTrustDomain
    /// The trust domain name is longer than the 255 bytes a URI host may have.
    case trustDomainTooLong(length: Int)
    /// The trust domain contains a character outside `[a-z0-9.-_]`.
    case invalidTrustDomainCharacter(Character, offset: Int)
    /// The authority carries a port (`:`), which SPIFFE IDs must not have.
    case portNotAllowed
    /// The authority carries user information (`@`), which SPIFFE IDs must not have.
    case userInfoNotAllowed
    /// The ID has a query component (`?`).
    case queryNotAllowed
    /// The ID has a fragment component (`#`).
    case fragmentNotAllowed
    /// A path did not start with `/`.
    case pathMissingLeadingSlash
    /// The path has an empty segment (`//`).
    case emptyPathSegment
    /// The path has a `.` or `..` segment.
    case dotPathSegment(String)
    /// The path ends with `/`.
    case trailingSlash
    /// A path segment contains a character outside `[a-zA-Z0-9.-_]`.
    case invalidPathCharacter(Character, segment: String)

    public var description: String {
        switch self {
        case .empty:
            return "SPIFFE ID is empty"
        case .tooLong(let length):
            return "SPIFFE ID is \(length) bytes long; the maximum is \(SPIFFEID.maximumLength) bytes"
        case .wrongScheme(let found):
            if found.isEmpty { return "SPIFFE ID must start with spiffe:// (no scheme found)" }
            return "SPIFFE ID must start with spiffe:// (found scheme '\(found)')"
        case .missingTrustDomain:
            return "SPIFFE ID has no trust domain after spiffe://"
        case .trustDomainTooLong(let length):
            return "trust domain name is \(length) bytes long; the maximum is \(TrustDomain.maximumLength) bytes"
        case .invalidTrustDomainCharacter(let character, let offset):
            let hint = character.isUppercase ? " (trust domain names are lower case)" : ""
            return "trust domain has invalid character '\(character.debugPrintable)' at offset \(offset): only lower-case letters, digits, '.', '-' and '_' are allowed\(hint)"
        case .portNotAllowed:
            return "SPIFFE ID must not contain a port in its trust domain"
        case .userInfoNotAllowed:
            return "SPIFFE ID must not contain user info ('@') in its trust domain"
        case .queryNotAllowed:
            return "SPIFFE ID must not contain a query ('?')"
        case .fragmentNotAllowed:
            return "SPIFFE ID must not contain a fragment ('#')"
        case .pathMissingLeadingSlash:
            return "path must start with '/'"
        case .emptyPathSegment:
            return "path must not contain empty segments ('//')"
        case .dotPathSegment(let segment):
            return "path must not contain '\(segment)' segments"
        case .trailingSlash:
            return "path must not end with '/'"
        case .invalidPathCharacter(let character, let segment):
            return "path segment '\(segment)' has invalid character '\(character.debugPrintable)': only letters, digits, '.', '-' and '_' are allowed"
        }
    }
}

extension Character {
    /// The character, or its Unicode scalar escapes when it is not printable ASCII.
    var debugPrintable: String {
        if let ascii = asciiValue, ascii >= 0x20, ascii < 0x7F { return String(self) }
        return unicodeScalars.map { "\\u{\(String($0.value, radix: 16))}" }.joined()
    }
}
