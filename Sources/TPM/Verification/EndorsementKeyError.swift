/// An endorsement key was refused.
public enum EndorsementKeyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The public area is not shaped like an EK (a restricted, non-signing decryption key that
    /// never leaves the TPM).
    case notAnEndorsementKey(reason: String)
    /// The EK certificate does not decode.
    case malformedCertificate(reason: String)
    /// The EK certificate certifies another key than the EK public area the agent sent.
    case certificateKeyMismatch
    /// The EK certificate does not chain to a trusted EK CA (or fails a policy on the way).
    case certificateNotTrusted(reason: String)
    /// The EK is not on the allow-list and no trusted certificate vouches for it.
    case notAllowed(identity: String, reason: String)
    /// A CA bundle could not be loaded.
    case invalidCABundle(reason: String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .notAnEndorsementKey(let reason): return "endorsement key: not an EK: \(reason)"
        case .malformedCertificate(let reason): return "endorsement key: malformed EK certificate: \(reason)"
        case .certificateKeyMismatch: return "endorsement key: the EK certificate is for another key than the EK public area"
        case .certificateNotTrusted(let reason): return "endorsement key: EK certificate not trusted: \(reason)"
        case .notAllowed(let identity, let reason): return "endorsement key \(identity) refused: \(reason)"
        case .invalidCABundle(let reason): return "endorsement key: invalid EK CA bundle: \(reason)"
        }
    }
}
