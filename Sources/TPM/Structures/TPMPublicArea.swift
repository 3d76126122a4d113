import Crypto

/// The public area of a TPM object (`TPMT_PUBLIC`, TPM 2.0 Part 2 §12.2.4), decoded from its
/// marshalled bytes without libtss2.
///
/// The exact bytes it was decoded from are kept in ``marshalled``: the TPM name and the agent's
/// identity are hashes over them, so they must never be re-encoded.
///
/// Only RSA and ECC keys are supported; keyed-hash and symmetric objects are refused with
/// ``TPMStructureError/unsupported(structure:field:value:)``.
public struct TPMPublicArea: Hashable, Sendable {
    /// The marshalled `TPMT_PUBLIC` (no `TPM2B_PUBLIC` size prefix), exactly as received.
    public let marshalled: [UInt8]
    /// The object type: ``TPMAlgorithm/rsa`` or ``TPMAlgorithm/ecc``.
    public let type: TPMAlgorithm
    /// The hash algorithm of the object's name.
    public let nameAlgorithm: TPMAlgorithm
    /// The object attributes.
    public let attributes: TPMObjectAttributes
    /// The policy digest that authorises use of the object (empty if none).
    public let authPolicy: [UInt8]
    /// The symmetric algorithm of a storage or endorsement key, `nil` for `TPM_ALG_NULL`.
    public let symmetric: TPMSymmetricDefinition?
    /// The key's signing or encryption scheme, `nil` for `TPM_ALG_NULL`.
    public let scheme: TPMScheme?
    /// The type-specific parameters and the public key.
    public let parameters: Parameters

    /// Type-specific parameters and public key material.
    public enum Parameters: Hashable, Sendable {
        /// An RSA key.
        case rsa(RSAParameters)
        /// An elliptic-curve key.
        case ecc(ECCParameters)
    }

    /// The parameters and modulus of an RSA key (`TPMS_RSA_PARMS` and `TPM2B_PUBLIC_KEY_RSA`).
    public struct RSAParameters: Hashable, Sendable {
        /// The key size in bits.
        public let keyBits: UInt16
        /// The exponent as stored; `0` means the default exponent 65537.
        public let exponent: UInt32
        /// The modulus, big-endian.
        public let modulus: [UInt8]

        /// The exponent actually used: ``exponent``, or 65537 when it is 0.
        public var effectiveExponent: UInt32 {
            exponent == 0 ? 65537 : exponent
        }
    }

    /// The parameters and public point of an ECC key (`TPMS_ECC_PARMS` and `TPMS_ECC_POINT`).
    public struct ECCParameters: Hashable, Sendable {
        /// The curve.
        public let curve: TPMECCCurve
        /// The key-derivation scheme, `nil` for `TPM_ALG_NULL`.
        public let kdf: TPMScheme?
        /// The x coordinate, big-endian.
        public let x: [UInt8]
        /// The y coordinate, big-endian.
        public let y: [UInt8]
    }

    /// Decodes a marshalled `TPMT_PUBLIC`; every byte must belong to it.
    ///
    /// - Throws: ``TPMStructureError`` naming the field that was truncated, unsupported or invalid.
    public init(marshalled bytes: some Collection<UInt8>) throws(TPMStructureError) {
        var reader = TPMReader(bytes, structure: "TPMT_PUBLIC")
        self = try Self.parse(&reader)
        try reader.expectEnd()
    }

    /// Decodes a marshalled `TPM2B_PUBLIC` (a 16-bit size followed by a `TPMT_PUBLIC`), as written by
    /// `tpm2_readpublic -o` or `tpm2_createak -u`.
    ///
    /// - Throws: ``TPMStructureError`` naming the field that was truncated, unsupported or invalid.
    public init(sizedMarshalled bytes: some Collection<UInt8>) throws(TPMStructureError) {
        var outer = TPMReader(bytes, structure: "TPM2B_PUBLIC")
        let inner = try outer.sized("publicArea", maximum: 0xFFFF)
        try outer.expectEnd()
        try self.init(marshalled: inner)
    }

    static func parse(_ reader: inout TPMReader) throws(TPMStructureError) -> TPMPublicArea {
        let start = reader.offset
        let type = try reader.algorithm("type")
        guard type == .rsa || type == .ecc else {
            throw .unsupported(structure: reader.structure, field: "type", value: UInt32(type.rawValue))
        }
        let nameAlgorithm = try reader.algorithm("nameAlg")
        guard HashFunction(nameAlgorithm) != nil else {
            throw .unsupported(structure: reader.structure, field: "nameAlg", value: UInt32(nameAlgorithm.rawValue))
        }
        let attributes = TPMObjectAttributes(rawValue: try reader.uint32("objectAttributes"))
        let authPolicy = try reader.sized("authPolicy", maximum: 64)
        let symmetric = try TPMSymmetricDefinition.parse(&reader, field: "parameters.symmetric")
        let scheme = try TPMScheme.parseAsymmetric(&reader, field: "parameters.scheme")
        let parameters: Parameters
        if type == .rsa {
            let keyBits = try reader.uint16("parameters.keyBits")
            let exponent = try reader.uint32("parameters.exponent")
            let modulus = try reader.sized("unique.rsa", maximum: 512)
            guard keyBits % 8 == 0, keyBits >= 1024, keyBits <= 4096 else {
                throw .invalid(structure: reader.structure, field: "parameters.keyBits", reason: "\(keyBits) is not a supported RSA key size")
            }
            guard modulus.isEmpty || modulus.count == Int(keyBits) / 8 else {
                throw .invalid(structure: reader.structure, field: "unique.rsa", reason: "\(modulus.count)-byte modulus for a \(keyBits)-bit key")
            }
            parameters = .rsa(RSAParameters(keyBits: keyBits, exponent: exponent, modulus: modulus))
        } else {
            let curve = TPMECCCurve(rawValue: try reader.uint16("parameters.curveID"))
            let kdf = try TPMScheme.parseKDF(&reader, field: "parameters.kdf")
            let x = try reader.sized("unique.ecc.x", maximum: 128)
            let y = try reader.sized("unique.ecc.y", maximum: 128)
            if let size = curve.coordinateSize, x.count > size || y.count > size {
                throw .invalid(structure: reader.structure, field: "unique.ecc", reason: "coordinate longer than \(size) bytes for \(curve)")
            }
            parameters = .ecc(ECCParameters(curve: curve, kdf: kdf, x: x, y: y))
        }
        return TPMPublicArea(
            marshalled: reader.consumed(from: start),
            type: type,
            nameAlgorithm: nameAlgorithm,
            attributes: attributes,
            authPolicy: authPolicy,
            symmetric: symmetric,
            scheme: scheme,
            parameters: parameters
        )
    }

    private init(
        marshalled: [UInt8], type: TPMAlgorithm, nameAlgorithm: TPMAlgorithm, attributes: TPMObjectAttributes,
        authPolicy: [UInt8], symmetric: TPMSymmetricDefinition?, scheme: TPMScheme?, parameters: Parameters
    ) {
        self.marshalled = marshalled
        self.type = type
        self.nameAlgorithm = nameAlgorithm
        self.attributes = attributes
        self.authPolicy = authPolicy
        self.symmetric = symmetric
        self.scheme = scheme
        self.parameters = parameters
    }

    /// The TPM name of the object: the 2-byte `nameAlg` followed by `H_nameAlg(TPMT_PUBLIC)`
    /// (TPM 2.0 Part 1 §16). This is the `objectName` for MakeCredential.
    public var name: [UInt8] {
        // The initialisers refuse name algorithms HashFunction cannot compute.
        let hash = HashFunction(nameAlgorithm) ?? .sha256
        return [UInt8(nameAlgorithm.rawValue >> 8), UInt8(nameAlgorithm.rawValue & 0xFF)] + hash.digest(marshalled)
    }

    /// SHA-256 over ``marshalled`` — the bytes of the marshalled `TPMT_PUBLIC`, no `TPM2B` size prefix.
    ///
    /// For an endorsement key this is the agent's stable identity (`spiffe://<td>/agent/tpm/<hex>`):
    /// it is independent of the EK's name algorithm, equal for every agent run on the same TPM and
    /// template, and computable from the EK public area alone.
    public var identityDigest: [UInt8] {
        Array(SHA256.hash(data: marshalled))
    }

    /// ``identityDigest`` as 64 lowercase hexadecimal digits.
    public var identityHex: String {
        identityDigest.hexString
    }
}
