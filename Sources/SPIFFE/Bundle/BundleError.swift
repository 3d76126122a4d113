/// Why a bundle could not be read, or why no bundle was available.
public enum BundleError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case tooLarge(size: Int, limit: Int)
    case invalidCertificates(CertificateParsingError)
    case invalidJSON(String)
    case missingKeys
    case missingKeyID(index: Int)
    case duplicateKeyID(String)
    case unsupportedKey(index: Int, reason: String)
    case invalidKey(index: Int, reason: String)
    case x509EntryCertificateCount(index: Int, count: Int)
    case unrecognizedFormat
    case noBundle(TrustDomain)
    case trustDomainMismatch(expected: TrustDomain, found: TrustDomain)

    public var description: String {
        switch self {
        case .empty: return "bundle is empty"
        case .tooLarge(let size, let limit): return "bundle is \(size) bytes; the limit is \(limit) bytes"
        case .invalidCertificates(let error): return "bundle certificates: \(error)"
        case .invalidJSON(let reason): return "bundle is not valid JSON: \(reason)"
        case .missingKeys: return "bundle JSON has no 'keys' array"
        case .missingKeyID(let index): return "key \(index + 1) has no 'kid'; JWT authorities need a key ID"
        case .duplicateKeyID(let kid): return "key ID '\(kid)' appears more than once"
        case .unsupportedKey(let index, let reason): return "key \(index + 1) is not supported: \(reason)"
        case .invalidKey(let index, let reason): return "key \(index + 1) is invalid: \(reason)"
        case .x509EntryCertificateCount(let index, let count):
            return "key \(index + 1) has use 'x509-svid' but carries \(count) certificates in 'x5c' (exactly 1 required)"
        case .unrecognizedFormat: return "bundle is neither PEM, DER, a JWKS nor a SPIFFE bundle"
        case .noBundle(let trustDomain): return "no trust bundle for trust domain '\(trustDomain)'"
        case .trustDomainMismatch(let expected, let found):
            return "bundle is for trust domain '\(expected)', not '\(found)'"
        }
    }
}
