import Foundation

/// Why an X509-SVID was refused. Each case names the rule of the X509-SVID specification broken.
public enum X509SVIDError: Error, Hashable, Sendable, CustomStringConvertible {
    case parsing(CertificateParsingError)
    case emptyChain
    case unreadableExtension(String)
    case noURISAN
    case multipleURISANs(count: Int)
    case invalidSPIFFEID(uri: String, reason: SPIFFEIDError)
    case leafIsCA
    case missingKeyUsage
    case leafMissingDigitalSignature
    case leafHasKeyCertSign
    case leafHasCRLSign
    case signingCertificateNotCA(subject: String)
    case signingCertificateMissingKeyCertSign(subject: String)
    case notYetValid(notBefore: Date)
    case expired(notAfter: Date)
    case caNotYetValid(subject: String, notBefore: Date)
    case caExpired(subject: String, notAfter: Date)
    case leafIsTrustAnchor
    case noBundle(BundleError)
    case untrusted(trustDomain: TrustDomain)
    case chainPolicyFailure(String)
    case privateKey(String)
    case keyMismatch

    public var description: String {
        switch self {
        case .parsing(let error): return "cannot read certificate: \(error)"
        case .emptyChain: return "no certificates: an X509-SVID needs a leaf certificate"
        case .unreadableExtension(let reason): return "leaf certificate has a malformed extension: \(reason)"
        case .noURISAN: return "leaf certificate has no URI SAN; an X509-SVID must have exactly one, holding its SPIFFE ID"
        case .multipleURISANs(let count): return "leaf certificate has \(count) URI SANs; an X509-SVID must have exactly one"
        case .invalidSPIFFEID(let uri, let reason): return "leaf URI SAN '\(uri)' is not a valid SPIFFE ID: \(reason)"
        case .leafIsCA: return "leaf certificate is a CA (basicConstraints cA=true); an X509-SVID leaf must have cA=false"
        case .missingKeyUsage: return "leaf certificate has no keyUsage extension; an X509-SVID leaf must assert digitalSignature"
        case .leafMissingDigitalSignature: return "leaf certificate keyUsage lacks digitalSignature"
        case .leafHasKeyCertSign: return "leaf certificate keyUsage has keyCertSign, which an X509-SVID leaf must not have"
        case .leafHasCRLSign: return "leaf certificate keyUsage has cRLSign, which an X509-SVID leaf must not have"
        case .signingCertificateNotCA(let subject): return "signing certificate '\(subject)' is not a CA (basicConstraints cA=true required)"
        case .signingCertificateMissingKeyCertSign(let subject): return "signing certificate '\(subject)' keyUsage lacks keyCertSign"
        case .notYetValid(let notBefore): return "certificate is not valid before \(Self.format(notBefore))"
        case .expired(let notAfter): return "certificate expired at \(Self.format(notAfter))"
        case .caNotYetValid(let subject, let notBefore): return "CA certificate '\(subject)' is not valid before \(Self.format(notBefore))"
        case .caExpired(let subject, let notAfter): return "CA certificate '\(subject)' expired at \(Self.format(notAfter))"
        case .leafIsTrustAnchor: return "the leaf certificate is itself in the trust bundle; a bundle holds CA certificates, not SVIDs"
        case .noBundle(let error): return "\(error)"
        case .untrusted(let trustDomain):
            return "certificate does not chain to an authority in the bundle for '\(trustDomain)' (unknown issuer or bad signature)"
        case .chainPolicyFailure(let reason): return "certificate chain refused: \(reason)"
        case .privateKey(let reason): return "cannot read private key: \(reason)"
        case .keyMismatch: return "private key does not match the leaf certificate's public key"
        }
    }

    static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
