/// An attestation key (AK) created by ``TPMDevice/createAttestationKey(_:endorsementKey:)``.
///
/// The AK is a child of the EK, so ``privateBlob`` is encrypted by the EK's storage key and
/// loads only into the TPM that created it. The device keeps the AK loaded as a transient object
/// while it is in use and reloads it from ``publicArea`` and ``privateBlob`` when needed (after
/// another AK was used, or in another process), so an agent may persist both to keep its AK
/// across restarts — or create a fresh AK per process, which is what the protocol expects.
public struct TPMAttestationKey: Hashable, Sendable {
    /// The AK public area; send ``TPMPublicArea/marshalled`` to the server.
    public let publicArea: TPMPublicArea
    /// The marshalled `TPM2B_PRIVATE`, wrapped by the EK.
    public let privateBlob: [UInt8]
    /// The EK (parent) the AK was created under.
    public let endorsementKey: TPMKeyAlgorithm

    /// The TPM name of the AK (what the server binds the credential to).
    public var name: [UInt8] { publicArea.name }

    /// Restores an AK from values persisted earlier.
    public init(publicArea: TPMPublicArea, privateBlob: [UInt8], endorsementKey: TPMKeyAlgorithm) {
        self.publicArea = publicArea
        self.privateBlob = privateBlob
        self.endorsementKey = endorsementKey
    }
}

/// The result of ``TPMDevice/quote(attestationKey:pcrs:qualifyingData:)``: what the agent sends
/// the server for ``QuoteVerifier/verifyQuote(attest:signature:akPublic:expectedExtraData:pcrValues:policy:)``.
public struct TPMQuote: Hashable, Sendable {
    /// The marshalled `TPMS_ATTEST` the TPM signed.
    public let attest: [UInt8]
    /// The marshalled `TPMT_SIGNATURE`.
    public let signature: [UInt8]
    /// The SHA-256 values of the quoted PCRs, read right after the quote and checked against the
    /// quoted digest.
    public let pcrValues: [Int: [UInt8]]
}
