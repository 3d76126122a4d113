import Foundation

/// Why a JWT-SVID was refused. Each case names the rule of the JWT-SVID specification broken.
public enum JWTSVIDError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case tooLarge(size: Int, limit: Int)
    case wrongPartCount(Int)
    case invalidBase64(part: String)
    case invalidJSON(part: String, reason: String)
    case missingAlgorithm
    case unsupportedAlgorithm(String)
    case unsupportedType(String)
    case criticalHeaders([String])
    case missingKeyID
    case missingClaim(String)
    case invalidClaim(String, reason: String)
    case invalidSubject(String, reason: SPIFFEIDError)
    case noBundle(BundleError)
    case unknownKeyID(String, trustDomain: TrustDomain)
    case keyAlgorithmMismatch(algorithm: String, key: String)
    case invalidSignature
    case expired(expiry: Date, now: Date)
    case notYetValid(notBefore: Date)
    case audienceMismatch(expected: String, actual: [String])

    public var description: String {
        switch self {
        case .empty: return "token is empty"
        case .tooLarge(let size, let limit): return "token is \(size) bytes; the limit is \(limit) bytes"
        case .wrongPartCount(let count): return "malformed JWT: expected 3 dot-separated parts (JWS compact form), found \(count)"
        case .invalidBase64(let part): return "malformed JWT: the \(part) is not base64url"
        case .invalidJSON(let part, let reason): return "malformed JWT: the \(part) is not a JSON object (\(reason))"
        case .missingAlgorithm: return "JWT header has no 'alg'"
        case .unsupportedAlgorithm(let alg):
            return "JWT algorithm '\(alg)' is not allowed for JWT-SVIDs (allowed: \(JWTAlgorithmName.allowed.joined(separator: ", ")))"
        case .unsupportedType(let typ): return "JWT header 'typ' is '\(typ)'; a JWT-SVID's typ must be absent, 'JWT' or 'JOSE'"
        case .criticalHeaders(let names): return "JWT header marks unsupported parameters as critical: \(names.joined(separator: ", "))"
        case .missingKeyID: return "JWT header has no 'kid'; a JWT-SVID must name its signing key"
        case .missingClaim(let claim): return "JWT-SVID has no '\(claim)' claim"
        case .invalidClaim(let claim, let reason): return "JWT-SVID claim '\(claim)' is invalid: \(reason)"
        case .invalidSubject(let subject, let reason): return "JWT-SVID subject '\(subject)' is not a valid SPIFFE ID: \(reason)"
        case .noBundle(let error): return "\(error)"
        case .unknownKeyID(let kid, let trustDomain): return "key ID '\(kid)' is not in the JWT bundle for '\(trustDomain)'"
        case .keyAlgorithmMismatch(let algorithm, let key): return "algorithm \(algorithm) cannot be used with the bundle's \(key) key"
        case .invalidSignature: return "JWT signature is invalid"
        case .expired(let expiry, let now):
            return "JWT-SVID expired at \(expiry.formatted(.iso8601)) (now \(now.formatted(.iso8601)))"
        case .notYetValid(let notBefore): return "JWT-SVID is not valid before \(notBefore.formatted(.iso8601))"
        case .audienceMismatch(let expected, let actual):
            return "JWT-SVID audience \(actual) does not contain '\(expected)'"
        }
    }
}

/// The signature algorithms a JWT-SVID may use.
public enum JWTAlgorithmName {
    public static let allowed = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
}
