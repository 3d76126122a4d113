/// The output of MakeCredential: what the server sends the agent for TPM2_ActivateCredential.
public struct CredentialChallenge: Hashable, Sendable {
    /// The marshalled `TPM2B_ID_OBJECT` (16-bit size, then `integrityHMAC` as a `TPM2B_DIGEST`,
    /// then the AES-CFB encrypted `TPM2B_DIGEST` credential).
    public let credentialBlob: [UInt8]
    /// The marshalled `TPM2B_ENCRYPTED_SECRET`: the seed, RSA-OAEP encrypted to the EK, or the
    /// ephemeral ECDH point (a marshalled `TPMS_ECC_POINT`) for an ECC EK.
    public let encryptedSecret: [UInt8]

    /// Wraps already-marshalled values, e.g. as received by an agent.
    public init(credentialBlob: [UInt8], encryptedSecret: [UInt8]) {
        self.credentialBlob = credentialBlob
        self.encryptedSecret = encryptedSecret
    }
}
