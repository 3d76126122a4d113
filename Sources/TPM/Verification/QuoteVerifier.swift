import Crypto
import _CryptoExtras

/// A quote that passed ``QuoteVerifier/verifyQuote(attest:signature:akPublic:expectedExtraData:pcrValues:policy:)``.
public struct VerifiedQuote: Hashable, Sendable {
    /// The decoded, verified attestation.
    public let attestation: TPMAttestation
    /// The PCR selection the TPM quoted.
    public let pcrSelection: [PCRSelection]
    /// The SHA-256 PCR values, now authenticated by the quote.
    public let pcrValues: [Int: [UInt8]]
    /// The PCR digest the TPM signed, lowercase hex (usable as a `tpm:pcr-digest:` selector).
    public let pcrDigestHex: String
}

/// Verifies TPM2_Quote results in software (no TPM, no libtss2).
public enum QuoteVerifier {
    /// Verifies a quote and the PCR values reported with it.
    ///
    /// Checks, in order, each failure a distinct ``QuoteVerificationError``:
    /// 1. the AK is a restricted signing key with a usable public key;
    /// 2. the signature decodes, its algorithm and hash match the AK's scheme (SHA-1 refused), and
    ///    it verifies over `attest` (RSASSA-PKCS1-v1_5, RSAPSS or ECDSA) — before anything in
    ///    `attest` is interpreted;
    /// 3. `attest` decodes as a `TPMS_ATTEST`, `magic` is `TPM_GENERATED_VALUE`, `type` is
    ///    `TPM_ST_ATTEST_QUOTE`;
    /// 4. `extraData` equals `expectedExtraData` (see ``QuoteBinding``);
    /// 5. every quoted PCR is in the SHA-256 bank and has a reported 32-byte value, no value is
    ///    reported for an unquoted PCR, and the hash (with the signature's hash) of the values
    ///    concatenated in selection order equals the signed `pcrDigest`;
    /// 6. if `policy` is given, the values satisfy it.
    ///
    /// - Parameters:
    ///   - attest: the marshalled `TPMS_ATTEST` (the contents of the `TPM2B_ATTEST`).
    ///   - signature: the marshalled `TPMT_SIGNATURE`.
    ///   - akPublic: the AK public area, as accepted at credential activation.
    ///   - expectedExtraData: the qualifying data the server expects.
    ///   - pcrValues: the agent's reported SHA-256 PCR values by index.
    ///   - policy: an optional PCR policy to check the verified values against.
    public static func verifyQuote(
        attest: [UInt8], signature: [UInt8], akPublic: TPMPublicArea, expectedExtraData: [UInt8],
        pcrValues: [Int: [UInt8]], policy: PCRPolicy? = nil
    ) throws(QuoteVerificationError) -> VerifiedQuote {
        let hash = try verifySignature(attest: attest, signature: signature, akPublic: akPublic)

        let attestation: TPMAttestation
        do {
            attestation = try TPMAttestation(marshalled: attest)
        } catch {
            throw .malformedAttestation(error)
        }
        guard attestation.magic == TPMAttestation.generatedValue else { throw .notGeneratedByTPM(magic: attestation.magic) }
        guard attestation.type == TPMAttestation.quoteTag, let quote = attestation.quoteInfo else {
            throw .notAQuote(type: attestation.type)
        }
        guard attestation.extraData == expectedExtraData else {
            throw .extraDataMismatch(expected: expectedExtraData.hexString, got: attestation.extraData.hexString)
        }

        var quoted = Set<Int>()
        var concatenated: [UInt8] = []
        for selection in quote.pcrSelection {
            guard selection.hash == .sha256 else { throw .unsupportedPCRBank(selection.hash) }
            for index in selection.indices {
                guard let value = pcrValues[index] else { throw .missingPCRValue(index: index) }
                guard value.count == 32 else { throw .invalidPCRValue(index: index, length: value.count) }
                concatenated += value
                quoted.insert(index)
            }
        }
        if let extra = pcrValues.keys.sorted().first(where: { !quoted.contains($0) }) {
            throw .unquotedPCRValue(index: extra)
        }
        let computed = hash.digest(concatenated)
        guard computed == quote.pcrDigest else {
            throw .pcrDigestMismatch(quoted: quote.pcrDigest.hexString, computed: computed.hexString)
        }
        if let policy {
            do {
                try policy.check(pcrValues)
            } catch {
                throw .policy(error)
            }
        }
        return VerifiedQuote(attestation: attestation, pcrSelection: quote.pcrSelection, pcrValues: pcrValues, pcrDigestHex: computed.hexString)
    }

    /// Verifies `signature` over `attest` with the AK; returns the signature's hash.
    private static func verifySignature(
        attest: [UInt8], signature signatureBytes: [UInt8], akPublic: TPMPublicArea
    ) throws(QuoteVerificationError) -> HashFunction {
        guard akPublic.attributes.contains([.restricted, .sign]) else {
            throw .unusableAttestationKey(reason: "not a restricted signing key (attributes \(akPublic.attributes))")
        }
        let key: TPMPublicKey
        do {
            key = try akPublic.publicKey()
        } catch {
            throw .unusableAttestationKey(reason: error.description)
        }
        let signature: TPMSignature
        do {
            signature = try TPMSignature(marshalled: signatureBytes)
        } catch {
            throw .malformedSignature(error)
        }
        guard let hash = HashFunction(signature.hashAlgorithm), hash != .sha1 else {
            throw .signatureAlgorithmMismatch(reason: "hash \(signature.hashAlgorithm) is not accepted")
        }
        if let scheme = akPublic.scheme {
            guard scheme.algorithm == signature.algorithm, scheme.hashAlgorithm == signature.hashAlgorithm else {
                throw .signatureAlgorithmMismatch(
                    reason: "signed with \(signature.algorithm)/\(signature.hashAlgorithm), the AK's scheme is \(scheme.algorithm)/\(String(describing: scheme.hashAlgorithm))")
            }
        }
        let valid: Bool
        switch (key, signature) {
        case (.rsa(let rsaKey), .rsassa(_, let bytes)):
            valid = verifyRSA(rsaKey, bytes, attest, hash, padding: .insecurePKCS1v1_5)
        case (.rsa(let rsaKey), .rsapss(_, let bytes)):
            valid = verifyRSA(rsaKey, bytes, attest, hash, padding: .PSS)
        case (.p256(let ecKey), .ecdsa(_, let r, let s)):
            guard let raw = rawECDSA(r, s, size: 32),
                  let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: raw) else { throw .badSignature }
            valid = withDigest(attest, hash) { ecKey.isValidSignature(ecdsa, for: $0) }
        case (.p384(let ecKey), .ecdsa(_, let r, let s)):
            guard let raw = rawECDSA(r, s, size: 48),
                  let ecdsa = try? P384.Signing.ECDSASignature(rawRepresentation: raw) else { throw .badSignature }
            valid = withDigest(attest, hash) { ecKey.isValidSignature(ecdsa, for: $0) }
        case (.p521(let ecKey), .ecdsa(_, let r, let s)):
            guard let raw = rawECDSA(r, s, size: 66),
                  let ecdsa = try? P521.Signing.ECDSASignature(rawRepresentation: raw) else { throw .badSignature }
            valid = withDigest(attest, hash) { ecKey.isValidSignature(ecdsa, for: $0) }
        default:
            throw .signatureAlgorithmMismatch(reason: "\(signature.algorithm) signature for a \(akPublic.type) key")
        }
        guard valid else { throw .badSignature }
        return hash
    }

    private static func verifyRSA(
        _ key: _RSA.Signing.PublicKey, _ bytes: [UInt8], _ data: [UInt8], _ hash: HashFunction, padding: _RSA.Signing.Padding
    ) -> Bool {
        let signature = _RSA.Signing.RSASignature(rawRepresentation: bytes)
        return withDigest(data, hash) { key.isValidSignature(signature, for: $0, padding: padding) }
    }

    /// Calls `body` with the swift-crypto digest of `data` for `hash` (SHA-256/384/512).
    private static func withDigest(_ data: [UInt8], _ hash: HashFunction, _ body: (any Digest) -> Bool) -> Bool {
        switch hash {
        case .sha256: return body(SHA256.hash(data: data))
        case .sha384: return body(SHA384.hash(data: data))
        case .sha512: return body(SHA512.hash(data: data))
        case .sha1: return false
        }
    }

    private static func rawECDSA(_ r: [UInt8], _ s: [UInt8], size: Int) -> [UInt8]? {
        let r = Array(r.drop { $0 == 0 }), s = Array(s.drop { $0 == 0 })
        guard r.count <= size, s.count <= size else { return nil }
        return TPMPublicArea.leftPadded(r, to: size) + TPMPublicArea.leftPadded(s, to: size)
    }
}
