/// The key types the agent creates for endorsement and attestation keys.
public enum TPMKeyAlgorithm: String, Hashable, Sendable, CaseIterable {
    /// RSA 2048. EK: TCG template L-1 (AES-128-CFB, SHA-256 names). AK: RSASSA-PKCS1-v1_5 with SHA-256.
    case rsa2048
    /// ECC NIST P-256. EK: TCG template L-2. AK: ECDSA with SHA-256.
    case eccP256
}
