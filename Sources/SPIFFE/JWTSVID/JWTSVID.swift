import Foundation

/// A JWT-SVID: a signed JWT whose `sub` is a SPIFFE ID.
///
/// ``JWTSVID/init(parsing:)`` checks the token's form only; ``JWTSVIDVerifier`` checks its
/// signature and claims.
public struct JWTSVID: Sendable, Hashable {
    /// The longest token accepted, in bytes.
    public static let maximumLength = 256 * 1024

    /// The compact serialization.
    public let token: String
    /// The `sub` claim.
    public let spiffeID: SPIFFEID
    /// The `aud` claim as a list.
    public let audience: [String]
    /// The `exp` claim.
    public let expiry: Date
    /// The `iat` claim, if present.
    public let issuedAt: Date?
    /// The `nbf` claim, if present.
    public let notBefore: Date?
    /// The header's `alg`.
    public let algorithm: String
    /// The header's `kid`.
    public let keyID: String
    /// Every claim in the payload.
    public let claims: [String: JSONValue]
    /// Every header parameter.
    public let header: [String: JSONValue]

    /// Parses a token and checks its form (JOSE header and required claims) without verifying
    /// its signature. Use it to inspect a token; use ``JWTSVIDVerifier`` to trust one.
    public init(parsing token: String) throws(JWTSVIDError) {
        let token = token.trimmingCharacters(in: .whitespacesAndNewlines)
        if token.isEmpty { throw .empty }
        if token.utf8.count > Self.maximumLength { throw .tooLarge(size: token.utf8.count, limit: Self.maximumLength) }
        // Count separators before splitting, so a token of thousands of dots costs nothing.
        let dots = token.utf8.reduce(0) { $1 == UInt8(ascii: ".") ? $0 + 1 : $0 }
        guard dots == 2 else { throw .wrongPartCount(dots + 1) }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        let header = try Self.decodeObject(parts[0], part: "header")
        let claims = try Self.decodeObject(parts[1], part: "payload")

        guard case .string(let alg)? = header["alg"] else { throw .missingAlgorithm }
        guard JWTAlgorithmName.allowed.contains(alg) else { throw .unsupportedAlgorithm(alg) }
        if let typ = header["typ"] {
            guard case .string(let value) = typ, value == "JWT" || value == "JOSE" else {
                throw .unsupportedType(typ.description)
            }
        }
        if let crit = header["crit"] {
            let names: [String]
            if case .array(let values) = crit { names = values.map(\.description) } else { names = [crit.description] }
            throw .criticalHeaders(names)
        }
        guard case .string(let kid)? = header["kid"], !kid.isEmpty else { throw .missingKeyID }
        // After the header rules, so an unsigned `alg: none` token is refused for its algorithm.
        guard !parts[2].isEmpty, Base64URL.decode(parts[2]) != nil else { throw .invalidBase64(part: "signature") }

        guard let sub = claims["sub"] else { throw .missingClaim("sub") }
        guard case .string(let subject) = sub else { throw .invalidClaim("sub", reason: "not a string") }
        do {
            self.spiffeID = try SPIFFEID(subject)
        } catch {
            throw .invalidSubject(subject, reason: error)
        }
        guard let aud = claims["aud"] else { throw .missingClaim("aud") }
        switch aud {
        case .string(let value): self.audience = [value]
        case .array(let values):
            var audience: [String] = []
            for value in values {
                guard case .string(let string) = value else { throw .invalidClaim("aud", reason: "not a string or list of strings") }
                audience.append(string)
            }
            guard !audience.isEmpty else { throw .invalidClaim("aud", reason: "empty list") }
            self.audience = audience
        default: throw .invalidClaim("aud", reason: "not a string or list of strings")
        }
        guard let exp = claims["exp"] else { throw .missingClaim("exp") }
        guard let expSeconds = exp.numberValue else { throw .invalidClaim("exp", reason: "not a number") }
        self.expiry = Date(timeIntervalSince1970: expSeconds)
        self.issuedAt = try Self.optionalDate(claims, "iat")
        self.notBefore = try Self.optionalDate(claims, "nbf")
        self.token = token
        self.algorithm = alg
        self.keyID = kid
        self.claims = claims
        self.header = header
    }

    private static func optionalDate(_ claims: [String: JSONValue], _ name: String) throws(JWTSVIDError) -> Date? {
        guard let value = claims[name] else { return nil }
        guard let seconds = value.numberValue else { throw .invalidClaim(name, reason: "not a number") }
        return Date(timeIntervalSince1970: seconds)
    }

    private static func decodeObject(_ part: Substring, part name: String) throws(JWTSVIDError) -> [String: JSONValue] {
        guard let bytes = Base64URL.decode(part) else { throw .invalidBase64(part: name) }
        do {
            return try JSONDecoder().decode([String: JSONValue].self, from: Data(bytes))
        } catch {
            throw .invalidJSON(part: name, reason: Self.reason(error))
        }
    }

    private static func reason(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error { return context.debugDescription }
        if case DecodingError.typeMismatch(_, let context) = error { return context.debugDescription }
        return String(describing: error)
    }
}
