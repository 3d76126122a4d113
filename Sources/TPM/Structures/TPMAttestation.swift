/// A decoded attestation structure (`TPMS_ATTEST`, TPM 2.0 Part 2 §10.12.12), e.g. the body of
/// a TPM2_Quote.
///
/// Decoding does not judge the contents: a wrong ``magic`` or ``type`` decodes fine and is refused
/// by ``QuoteVerifier`` with a specific error.
public struct TPMAttestation: Hashable, Sendable {
    /// `TPM_GENERATED_VALUE` (`0xff544347`, "\xffTCG") when the TPM produced the structure.
    public static let generatedValue: UInt32 = 0xFF54_4347
    /// `TPM_ST_ATTEST_QUOTE`.
    public static let quoteTag: UInt16 = 0x8018

    /// Must be ``generatedValue``.
    public let magic: UInt32
    /// The `TPM_ST` tag of the attestation, ``quoteTag`` for a quote.
    public let type: UInt16
    /// The qualified name of the signing key.
    public let qualifiedSigner: [UInt8]
    /// The caller's qualifying data (the nonce binding).
    public let extraData: [UInt8]
    /// The TPM clock at the time of signing.
    public let clockInfo: ClockInfo
    /// The vendor-specific firmware version.
    public let firmwareVersion: UInt64
    /// The type-specific body.
    public let attested: Attested

    /// `TPMS_CLOCK_INFO`.
    public struct ClockInfo: Hashable, Sendable {
        /// Milliseconds the TPM has been powered since its clock was last set.
        public let clock: UInt64
        /// The number of TPM resets (reboots) since the TPM was cleared.
        public let resetCount: UInt32
        /// The number of TPM restarts (resume from hibernation) since the last reset.
        public let restartCount: UInt32
        /// Whether ``clock`` has not been rolled back.
        public let safe: Bool
    }

    /// `TPMS_QUOTE_INFO`: what a quote attests.
    public struct QuoteInfo: Hashable, Sendable {
        /// The quoted PCRs.
        public let pcrSelection: [PCRSelection]
        /// The digest of the quoted PCR values, concatenated in selection order, with the signing
        /// scheme's hash.
        public let pcrDigest: [UInt8]
    }

    /// The type-specific body of the attestation (`TPMU_ATTEST`).
    public enum Attested: Hashable, Sendable {
        /// A quote (`TPM_ST_ATTEST_QUOTE`).
        case quote(QuoteInfo)
        /// Any other attestation type, not decoded.
        case other(type: UInt16, body: [UInt8])
    }

    /// The quote body, if this is a quote.
    public var quoteInfo: QuoteInfo? {
        if case .quote(let info) = attested { return info }
        return nil
    }

    /// Decodes a marshalled `TPMS_ATTEST` (the contents of a `TPM2B_ATTEST`, without its size).
    ///
    /// - Throws: ``TPMStructureError`` naming the field that was truncated or invalid.
    public init(marshalled bytes: some Collection<UInt8>) throws(TPMStructureError) {
        var reader = TPMReader(bytes, structure: "TPMS_ATTEST")
        magic = try reader.uint32("magic")
        type = try reader.uint16("type")
        qualifiedSigner = try reader.sized("qualifiedSigner", maximum: 2 + 64)
        extraData = try reader.sized("extraData", maximum: 2 + 64)
        let clock = try reader.uint64("clockInfo.clock")
        let resetCount = try reader.uint32("clockInfo.resetCount")
        let restartCount = try reader.uint32("clockInfo.restartCount")
        let safe = try reader.uint8("clockInfo.safe")
        guard safe <= 1 else {
            throw .invalid(structure: "TPMS_ATTEST", field: "clockInfo.safe", reason: "\(safe) is not a TPMI_YES_NO")
        }
        clockInfo = ClockInfo(clock: clock, resetCount: resetCount, restartCount: restartCount, safe: safe == 1)
        firmwareVersion = try reader.uint64("firmwareVersion")
        if type == Self.quoteTag {
            let selection = try PCRSelection.parseList(&reader, field: "attested.quote.pcrSelect")
            let digest = try reader.sized("attested.quote.pcrDigest", maximum: 64)
            attested = .quote(QuoteInfo(pcrSelection: selection, pcrDigest: digest))
        } else {
            attested = .other(type: type, body: try reader.bytes(reader.remaining, "attested"))
        }
        try reader.expectEnd()
    }
}
