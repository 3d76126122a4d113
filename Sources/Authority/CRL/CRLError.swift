/// Why a certificate revocation list could not be built, read or trusted.
public enum CRLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The bytes are not a DER (or PEM `X509 CRL`) certificate revocation list.
    case malformed(String)
    /// The CRL uses something this implementation does not understand and must not ignore: an
    /// unknown critical extension, an unsupported signature algorithm, a version other than v1/v2.
    case unsupported(String)
    /// Signing the CRL failed.
    case signing(String)

    public var description: String {
        switch self {
        case .malformed(let reason): return "malformed certificate revocation list: \(reason)"
        case .unsupported(let reason): return "unsupported certificate revocation list: \(reason)"
        case .signing(let reason): return "cannot sign certificate revocation list: \(reason)"
        }
    }
}
