/// A decoded TPM signature (`TPMT_SIGNATURE`, TPM 2.0 Part 2 §11.3.4).
public enum TPMSignature: Hashable, Sendable {
    /// RSASSA-PKCS1-v1_5 over a digest made with `hash`.
    case rsassa(hash: TPMAlgorithm, signature: [UInt8])
    /// RSASSA-PSS over a digest made with `hash`.
    case rsapss(hash: TPMAlgorithm, signature: [UInt8])
    /// ECDSA over a digest made with `hash`; `r` and `s` big-endian.
    case ecdsa(hash: TPMAlgorithm, r: [UInt8], s: [UInt8])

    /// The signature algorithm (`sigAlg`).
    public var algorithm: TPMAlgorithm {
        switch self {
        case .rsassa: return .rsassa
        case .rsapss: return .rsapss
        case .ecdsa: return .ecdsa
        }
    }

    /// The hash the signed digest was made with.
    public var hashAlgorithm: TPMAlgorithm {
        switch self {
        case .rsassa(let hash, _), .rsapss(let hash, _), .ecdsa(let hash, _, _): return hash
        }
    }

    /// Decodes a marshalled `TPMT_SIGNATURE`; RSASSA, RSAPSS and ECDSA are supported.
    ///
    /// - Throws: ``TPMStructureError`` naming the field that was truncated, unsupported or invalid.
    public init(marshalled bytes: some Collection<UInt8>) throws(TPMStructureError) {
        var reader = TPMReader(bytes, structure: "TPMT_SIGNATURE")
        let algorithm = try reader.algorithm("sigAlg")
        switch algorithm {
        case .rsassa, .rsapss:
            let hash = try reader.algorithm("signature.hash")
            let signature = try reader.sized("signature.sig", maximum: 512)
            self = algorithm == .rsassa ? .rsassa(hash: hash, signature: signature) : .rsapss(hash: hash, signature: signature)
        case .ecdsa:
            let hash = try reader.algorithm("signature.hash")
            let r = try reader.sized("signature.signatureR", maximum: 128)
            let s = try reader.sized("signature.signatureS", maximum: 128)
            self = .ecdsa(hash: hash, r: r, s: s)
        default:
            throw .unsupported(structure: "TPMT_SIGNATURE", field: "sigAlg", value: UInt32(algorithm.rawValue))
        }
        try reader.expectEnd()
    }
}
