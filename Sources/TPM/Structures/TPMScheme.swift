/// A symmetric algorithm definition for an object (`TPMT_SYM_DEF_OBJECT`, TPM 2.0 Part 2 §11.1.7).
///
/// A `TPM_ALG_NULL` definition is represented by `nil` where this type is used.
public struct TPMSymmetricDefinition: Hashable, Sendable {
    /// The block cipher, e.g. ``TPMAlgorithm/aes``.
    public var algorithm: TPMAlgorithm
    /// The key size in bits.
    public var keyBits: UInt16
    /// The block mode, e.g. ``TPMAlgorithm/cfb``.
    public var mode: TPMAlgorithm

    /// Creates a symmetric definition.
    public init(algorithm: TPMAlgorithm, keyBits: UInt16, mode: TPMAlgorithm) {
        self.algorithm = algorithm
        self.keyBits = keyBits
        self.mode = mode
    }

    static func parse(_ reader: inout TPMReader, field: String) throws(TPMStructureError) -> TPMSymmetricDefinition? {
        let algorithm = try reader.algorithm("\(field).algorithm")
        switch algorithm {
        case .null:
            return nil
        case .aes, .sm4, .camellia:
            let keyBits = try reader.uint16("\(field).keyBits")
            let mode = try reader.algorithm("\(field).mode")
            return TPMSymmetricDefinition(algorithm: algorithm, keyBits: keyBits, mode: mode)
        default:
            throw .unsupported(structure: reader.structure, field: "\(field).algorithm", value: UInt32(algorithm.rawValue))
        }
    }
}

/// A signing, encryption or key-derivation scheme with its hash (`TPMT_RSA_SCHEME`,
/// `TPMT_ECC_SCHEME`, `TPMT_KDF_SCHEME`; TPM 2.0 Part 2 §11.2).
///
/// A `TPM_ALG_NULL` scheme is represented by `nil` where this type is used.
public struct TPMScheme: Hashable, Sendable {
    /// The scheme, e.g. ``TPMAlgorithm/rsassa`` or ``TPMAlgorithm/ecdsa``.
    public var algorithm: TPMAlgorithm
    /// The hash the scheme uses, if it has one (RSAES has none).
    public var hashAlgorithm: TPMAlgorithm?
    /// The ECDAA commit count, only for ``TPMAlgorithm/ecdaa``.
    public var count: UInt16?

    /// Creates a scheme.
    public init(algorithm: TPMAlgorithm, hashAlgorithm: TPMAlgorithm?, count: UInt16? = nil) {
        self.algorithm = algorithm
        self.hashAlgorithm = hashAlgorithm
        self.count = count
    }

    /// Reads a `TPMT_RSA_SCHEME` or `TPMT_ECC_SCHEME` (they share the `TPMU_ASYM_SCHEME` layout).
    static func parseAsymmetric(_ reader: inout TPMReader, field: String) throws(TPMStructureError) -> TPMScheme? {
        let algorithm = try reader.algorithm("\(field).scheme")
        switch algorithm {
        case .null:
            return nil
        case .rsaes:
            return TPMScheme(algorithm: algorithm, hashAlgorithm: nil)
        case .rsassa, .rsapss, .oaep, .ecdsa, .ecdh, .sm2, .ecschnorr, .ecmqv:
            return TPMScheme(algorithm: algorithm, hashAlgorithm: try reader.algorithm("\(field).details.hashAlg"))
        case .ecdaa:
            let hash = try reader.algorithm("\(field).details.hashAlg")
            let count = try reader.uint16("\(field).details.count")
            return TPMScheme(algorithm: algorithm, hashAlgorithm: hash, count: count)
        default:
            throw .unsupported(structure: reader.structure, field: "\(field).scheme", value: UInt32(algorithm.rawValue))
        }
    }

    /// Reads a `TPMT_KDF_SCHEME`.
    static func parseKDF(_ reader: inout TPMReader, field: String) throws(TPMStructureError) -> TPMScheme? {
        let algorithm = try reader.algorithm("\(field).scheme")
        switch algorithm {
        case .null:
            return nil
        case .mgf1, .kdf1SP800_56A, .kdf2, .kdf1SP800_108:
            return TPMScheme(algorithm: algorithm, hashAlgorithm: try reader.algorithm("\(field).details.hashAlg"))
        default:
            throw .unsupported(structure: reader.structure, field: "\(field).scheme", value: UInt32(algorithm.rawValue))
        }
    }
}
