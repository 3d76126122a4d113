import CTSS2

/// Public-area templates for the keys the agent creates, as libtss2 `TPM2B_PUBLIC` values.
enum KeyTemplates {
    /// fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | restricted | sign (0x00050072).
    static let attestationAttributes: TPMObjectAttributes = [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .restricted, .sign]

    /// The TCG default EK templates in the low range: L-1 (RSA 2048, 256 zero bytes of unique) and
    /// L-2 (ECC P-256, two 32-byte zero coordinates), both SHA-256 names and AES-128-CFB. With
    /// these, TPM2_CreatePrimary recreates the very key the manufacturer's EK certificate certifies.
    static func endorsementKey(_ algorithm: TPMKeyAlgorithm) -> TPM2B_PUBLIC {
        var template = TPM2B_PUBLIC()
        template.publicArea.nameAlg = TPMAlgorithm.sha256.rawValue
        template.publicArea.objectAttributes = EndorsementKeyTemplate.attributes.rawValue
        template.publicArea.authPolicy.size = UInt16(EndorsementKeyTemplate.authPolicy.count)
        withUnsafeMutableBytes(of: &template.publicArea.authPolicy.buffer) { buffer in
            buffer.copyBytes(from: EndorsementKeyTemplate.authPolicy)
        }
        var symmetric = TPMT_SYM_DEF_OBJECT()
        symmetric.algorithm = TPMAlgorithm.aes.rawValue
        symmetric.keyBits.aes = 128
        symmetric.mode.aes = TPMAlgorithm.cfb.rawValue
        switch algorithm {
        case .rsa2048:
            template.publicArea.type = TPMAlgorithm.rsa.rawValue
            template.publicArea.parameters.rsaDetail.symmetric = symmetric
            template.publicArea.parameters.rsaDetail.scheme.scheme = TPMAlgorithm.null.rawValue
            template.publicArea.parameters.rsaDetail.keyBits = 2048
            template.publicArea.parameters.rsaDetail.exponent = 0
            template.publicArea.unique.rsa.size = 256
        case .eccP256:
            template.publicArea.type = TPMAlgorithm.ecc.rawValue
            template.publicArea.parameters.eccDetail.symmetric = symmetric
            template.publicArea.parameters.eccDetail.scheme.scheme = TPMAlgorithm.null.rawValue
            template.publicArea.parameters.eccDetail.curveID = TPMECCCurve.nistP256.rawValue
            template.publicArea.parameters.eccDetail.kdf.scheme = TPMAlgorithm.null.rawValue
            template.publicArea.unique.ecc.x.size = 32
            template.publicArea.unique.ecc.y.size = 32
        }
        return template
    }

    /// A restricted signing key with SHA-256 names: RSA 2048 with RSASSA-SHA256 or ECC P-256 with
    /// ECDSA-SHA256; empty auth (userWithAuth) so Quote and ActivateCredential's ADMIN role take
    /// a password session.
    static func attestationKey(_ algorithm: TPMKeyAlgorithm) -> TPM2B_PUBLIC {
        var template = TPM2B_PUBLIC()
        template.publicArea.nameAlg = TPMAlgorithm.sha256.rawValue
        template.publicArea.objectAttributes = attestationAttributes.rawValue
        switch algorithm {
        case .rsa2048:
            template.publicArea.type = TPMAlgorithm.rsa.rawValue
            template.publicArea.parameters.rsaDetail.symmetric.algorithm = TPMAlgorithm.null.rawValue
            template.publicArea.parameters.rsaDetail.scheme.scheme = TPMAlgorithm.rsassa.rawValue
            template.publicArea.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPMAlgorithm.sha256.rawValue
            template.publicArea.parameters.rsaDetail.keyBits = 2048
            template.publicArea.parameters.rsaDetail.exponent = 0
        case .eccP256:
            template.publicArea.type = TPMAlgorithm.ecc.rawValue
            template.publicArea.parameters.eccDetail.symmetric.algorithm = TPMAlgorithm.null.rawValue
            template.publicArea.parameters.eccDetail.scheme.scheme = TPMAlgorithm.ecdsa.rawValue
            template.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPMAlgorithm.sha256.rawValue
            template.publicArea.parameters.eccDetail.curveID = TPMECCCurve.nistP256.rawValue
            template.publicArea.parameters.eccDetail.kdf.scheme = TPMAlgorithm.null.rawValue
        }
        return template
    }
}
