/// A quote was refused. Each case says which check failed.
public enum QuoteVerificationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The `TPMT_SIGNATURE` bytes do not decode.
    case malformedSignature(TPMStructureError)
    /// The `TPMS_ATTEST` bytes do not decode (only reached after the signature verified).
    case malformedAttestation(TPMStructureError)
    /// The AK cannot verify quotes (not a restricted signing key, or an unusable public key).
    case unusableAttestationKey(reason: String)
    /// The signature's algorithm or hash does not match the AK or is not accepted.
    case signatureAlgorithmMismatch(reason: String)
    /// The signature does not verify with the AK over the attestation bytes.
    case badSignature
    /// `magic` is not `TPM_GENERATED_VALUE`.
    case notGeneratedByTPM(magic: UInt32)
    /// `type` is not `TPM_ST_ATTEST_QUOTE`.
    case notAQuote(type: UInt16)
    /// `extraData` is not the expected binding of nonce and key (both lowercase hex).
    case extraDataMismatch(expected: String, got: String)
    /// The quote selects a PCR bank other than SHA-256.
    case unsupportedPCRBank(TPMAlgorithm)
    /// A quoted PCR has no reported value.
    case missingPCRValue(index: Int)
    /// A value was reported for a PCR the quote does not cover (it would be unauthenticated).
    case unquotedPCRValue(index: Int)
    /// A reported PCR value is not a 32-byte SHA-256 value.
    case invalidPCRValue(index: Int, length: Int)
    /// The digest of the reported PCR values is not the digest the TPM signed (both lowercase hex).
    case pcrDigestMismatch(quoted: String, computed: String)
    /// The verified PCR values do not satisfy the policy.
    case policy(PCRPolicyError)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .malformedSignature(let error): return "quote: malformed signature: \(error)"
        case .malformedAttestation(let error): return "quote: malformed attestation: \(error)"
        case .unusableAttestationKey(let reason): return "quote: unusable attestation key: \(reason)"
        case .signatureAlgorithmMismatch(let reason): return "quote: signature algorithm: \(reason)"
        case .badSignature: return "quote: the signature does not verify with the attestation key"
        case .notGeneratedByTPM(let magic): return "quote: magic 0x\(String(magic, radix: 16)) is not TPM_GENERATED_VALUE (0xff544347)"
        case .notAQuote(let type): return "quote: attestation type 0x\(String(type, radix: 16)) is not TPM_ST_ATTEST_QUOTE (0x8018)"
        case .extraDataMismatch(let expected, let got): return "quote: extraData mismatch (stale or replayed nonce, or another key): expected \(expected), got \(got)"
        case .unsupportedPCRBank(let bank): return "quote: PCR bank \(bank) is not supported (only SHA-256)"
        case .missingPCRValue(let index): return "quote: PCR \(index) is quoted but its value was not reported"
        case .unquotedPCRValue(let index): return "quote: a value was reported for PCR \(index), which the quote does not cover"
        case .invalidPCRValue(let index, let length): return "quote: PCR \(index) value has \(length) bytes, a SHA-256 value has 32"
        case .pcrDigestMismatch(let quoted, let computed): return "quote: the reported PCR values hash to \(computed), the TPM quoted \(quoted)"
        case .policy(let error): return "quote: \(error)"
        }
    }
}
