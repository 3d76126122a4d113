/// The TCG default EK templates of the low range (TCG EK Credential Profile for TPM 2.0,
/// Annex B): L-1, RSA 2048, and L-2, ECC NIST P-256.
///
/// An EK certificate certifies only a public *key*, and the TPM decrypts a credential with the key
/// whatever else the agent claims about it, so an agent could otherwise present variants of
/// its EK public area (another authPolicy, an explicit exponent 65537, an extra attribute), each
/// with its own ``TPMPublicArea/identityHex``, and pick a fresh identity at will. Requiring
/// the exact default template makes the identity a function of the key alone.
public enum EndorsementKeyTemplate: String, Hashable, Sendable, CaseIterable {
    /// Template L-1: RSA 2048, exponent 0 (65537), SHA-256 names, AES-128-CFB, no scheme.
    case rsa2048
    /// Template L-2: ECC NIST P-256, SHA-256 names, AES-128-CFB, no scheme, no KDF.
    case eccP256

    /// `PolicySecret(TPM_RH_ENDORSEMENT)`, the authPolicy of the default templates (Annex B.3.3).
    public static let authPolicy: [UInt8] = [
        0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC, 0x8D, 0x46, 0xA5, 0xD7, 0x24,
        0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52, 0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA,
    ]

    /// fixedTPM | fixedParent | sensitiveDataOrigin | adminWithPolicy | restricted | decrypt (`0x000300B2`).
    public static let attributes: TPMObjectAttributes = [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .adminWithPolicy, .restricted, .decrypt]

    /// AES-128-CFB.
    public static let symmetric = TPMSymmetricDefinition(algorithm: .aes, keyBits: 128, mode: .cfb)

    /// The template `area` was created from, or the first difference from both templates' rules.
    public static func match(_ area: TPMPublicArea) -> Result<EndorsementKeyTemplate, TemplateMismatch> {
        func mismatch(_ reason: String) -> Result<EndorsementKeyTemplate, TemplateMismatch> {
            .failure(TemplateMismatch(reason: reason))
        }
        guard area.nameAlgorithm == .sha256 else { return mismatch("nameAlg \(area.nameAlgorithm), expected SHA256") }
        guard area.attributes == attributes else { return mismatch("attributes \(area.attributes), expected \(attributes)") }
        guard area.authPolicy == authPolicy else { return mismatch("authPolicy \(area.authPolicy.hexString) is not PolicySecret(TPM_RH_ENDORSEMENT)") }
        guard area.symmetric == symmetric else { return mismatch("symmetric \(String(describing: area.symmetric)), expected AES-128-CFB") }
        guard area.scheme == nil else { return mismatch("scheme \(String(describing: area.scheme)), expected TPM_ALG_NULL") }
        switch area.parameters {
        case .rsa(let rsa):
            guard rsa.keyBits == 2048, rsa.exponent == 0, rsa.modulus.count == 256 else {
                return mismatch("RSA-\(rsa.keyBits) exponent \(rsa.exponent) with a \(rsa.modulus.count)-byte modulus, expected RSA-2048, exponent 0, 256 bytes")
            }
            return .success(.rsa2048)
        case .ecc(let ecc):
            guard ecc.curve == .nistP256, ecc.kdf == nil, ecc.x.count == 32, ecc.y.count == 32 else {
                return mismatch("\(ecc.curve) kdf \(String(describing: ecc.kdf)) with \(ecc.x.count)/\(ecc.y.count)-byte coordinates, expected P-256, no KDF, 32/32 bytes")
            }
            return .success(.eccP256)
        }
    }

    /// Why a public area is not a default EK template.
    public struct TemplateMismatch: Error, Hashable, Sendable, CustomStringConvertible {
        /// The first difference found.
        public let reason: String
        /// The reason.
        public var description: String { reason }
    }
}
