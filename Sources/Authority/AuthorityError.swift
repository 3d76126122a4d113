import Foundation
import SPIFFE

/// Why the certificate authority refused to create or issue something.
public enum AuthorityError: Error, Hashable, Sendable, CustomStringConvertible {
    case keyGeneration(String)
    case invalidKey(String)
    case invalidCertificate(String)
    case keyDoesNotMatchCertificate
    case notACertificateAuthority(String)
    case invalidCSR(String)
    case csrSignatureInvalid
    case csrIdentityMismatch(requested: String, csr: String)
    case invalidTTL(String)
    case invalidDNSName(String)
    case caExpired(notAfter: Date)
    case signing(String)
    case trustDomainMismatch(expected: TrustDomain, found: TrustDomain)

    public var description: String {
        switch self {
        case .keyGeneration(let reason): return "cannot generate key: \(reason)"
        case .invalidKey(let reason): return "invalid key: \(reason)"
        case .invalidCertificate(let reason): return "invalid CA certificate: \(reason)"
        case .keyDoesNotMatchCertificate: return "the CA private key does not match the CA certificate"
        case .notACertificateAuthority(let reason): return "certificate cannot sign X509-SVIDs: \(reason)"
        case .invalidCSR(let reason): return "invalid certificate signing request: \(reason)"
        case .csrSignatureInvalid: return "certificate signing request signature is invalid (proof of possession failed)"
        case .csrIdentityMismatch(let requested, let csr):
            return "certificate signing request names \(csr) but \(requested) was requested"
        case .invalidTTL(let reason): return "invalid TTL: \(reason)"
        case .invalidDNSName(let name): return "invalid DNS name '\(name)'"
        case .caExpired(let notAfter): return "the CA expired at \(notAfter.formatted(.iso8601))"
        case .signing(let reason): return "signing failed: \(reason)"
        case .trustDomainMismatch(let expected, let found): return "SPIFFE ID is in trust domain '\(found)', this CA signs for '\(expected)'"
        }
    }
}
