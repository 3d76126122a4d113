/// MakeCredential could not be performed for these inputs.
public enum CredentialError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The key given as the EK cannot protect a credential (wrong attributes, no AES-CFB
    /// symmetric definition, unsupported curve, …).
    case unsupportedEndorsementKey(reason: String)
    /// The object name is not `nameAlg ‖ digest` with a supported hash.
    case invalidObjectName(reason: String)
    /// The secret is empty or longer than the EK's name-algorithm digest.
    case invalidSecret(reason: String)
    /// A cryptographic primitive failed.
    case cryptographicFailure(reason: String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .unsupportedEndorsementKey(let reason): return "MakeCredential: unsupported endorsement key: \(reason)"
        case .invalidObjectName(let reason): return "MakeCredential: invalid object name: \(reason)"
        case .invalidSecret(let reason): return "MakeCredential: invalid secret: \(reason)"
        case .cryptographicFailure(let reason): return "MakeCredential: cryptographic failure: \(reason)"
        }
    }
}
