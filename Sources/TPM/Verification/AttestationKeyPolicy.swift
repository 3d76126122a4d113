/// The properties the server requires of an attestation key (AK) before it issues a credential
/// challenge for it and trusts quotes it signs.
public enum AttestationKeyPolicy {
    /// The attributes an AK must have: a restricted signing key (it signs only structures the TPM
    /// built, so a forged `TPMS_ATTEST` cannot be signed), generated inside the TPM
    /// (`sensitiveDataOrigin`) and never leaving it (`fixedTPM`, `fixedParent`).
    public static let requiredAttributes: TPMObjectAttributes = [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .restricted, .sign]

    /// Checks an AK public area: ``requiredAttributes`` set, `decrypt` clear, a SHA-256 name
    /// algorithm, RSA 2048+ with RSASSA or RSAPSS, or ECC P-256/P-384/P-521 with ECDSA, and a SHA-256
    /// (or stronger) scheme hash.
    ///
    /// - Throws: ``AttestationKeyError`` naming the first failed requirement.
    public static func check(_ key: TPMPublicArea) throws(AttestationKeyError) {
        let missing = requiredAttributes.subtracting(key.attributes)
        guard missing.isEmpty else { throw .missingAttributes(missing, have: key.attributes) }
        guard !key.attributes.contains(.decrypt) else { throw .forbiddenAttributes(.decrypt, have: key.attributes) }
        guard key.nameAlgorithm == .sha256 || key.nameAlgorithm == .sha384 || key.nameAlgorithm == .sha512 else {
            throw .unsupportedAlgorithm("name algorithm \(key.nameAlgorithm)")
        }
        guard let scheme = key.scheme, let hash = scheme.hashAlgorithm else {
            throw .unsupportedAlgorithm("signing scheme TPM_ALG_NULL (the AK must fix its scheme)")
        }
        guard hash == .sha256 || hash == .sha384 || hash == .sha512 else {
            throw .unsupportedAlgorithm("scheme hash \(hash)")
        }
        switch key.parameters {
        case .rsa(let rsa):
            guard scheme.algorithm == .rsassa || scheme.algorithm == .rsapss else {
                throw .unsupportedAlgorithm("scheme \(scheme.algorithm) for an RSA key")
            }
            guard rsa.keyBits >= 2048 else { throw .unsupportedAlgorithm("RSA-\(rsa.keyBits)") }
        case .ecc(let ecc):
            guard scheme.algorithm == .ecdsa else {
                throw .unsupportedAlgorithm("scheme \(scheme.algorithm) for an ECC key")
            }
            guard ecc.curve.coordinateSize != nil else { throw .unsupportedAlgorithm("curve \(ecc.curve)") }
        }
        do {
            _ = try key.publicKey()
        } catch {
            throw .unusableKey(error)
        }
    }
}

/// An attestation key does not meet ``AttestationKeyPolicy``.
public enum AttestationKeyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Required attributes are clear.
    case missingAttributes(TPMObjectAttributes, have: TPMObjectAttributes)
    /// Attributes that must be clear are set.
    case forbiddenAttributes(TPMObjectAttributes, have: TPMObjectAttributes)
    /// The key type, curve, scheme or hash is not accepted.
    case unsupportedAlgorithm(String)
    /// The public key cannot be used.
    case unusableKey(TPMStructureError)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .missingAttributes(let missing, let have): return "attestation key lacks \(missing) (has \(have))"
        case .forbiddenAttributes(let forbidden, let have): return "attestation key must not have \(forbidden) (has \(have))"
        case .unsupportedAlgorithm(let what): return "attestation key: unsupported \(what)"
        case .unusableKey(let error): return "attestation key: \(error)"
        }
    }
}
