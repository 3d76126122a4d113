import Crypto
import _CryptoExtras
@testable import TPM

/// Hand-marshalled TPM structures for tests that need no TPM.
enum Fixtures {
    /// A marshalled `TPMT_PUBLIC` of an RSA key with the given attributes, scheme and modulus.
    static func rsaPublic(
        attributes: TPMObjectAttributes = AttestationKeyPolicy.requiredAttributes.union(.userWithAuth),
        symmetric: TPMSymmetricDefinition? = nil,
        scheme: TPMScheme? = TPMScheme(algorithm: .rsassa, hashAlgorithm: .sha256),
        modulus: [UInt8]
    ) -> [UInt8] {
        var writer = TPMWriter()
        writer.uint16(TPMAlgorithm.rsa.rawValue)
        writer.uint16(TPMAlgorithm.sha256.rawValue)
        writer.uint32(attributes.rawValue)
        writer.sized([])
        appendSymmetric(symmetric, to: &writer)
        appendScheme(scheme, to: &writer)
        writer.uint16(UInt16(modulus.count * 8))
        writer.uint32(0)
        writer.sized(modulus)
        return writer.bytes
    }

    /// A marshalled `TPMT_PUBLIC` of a P-256 key.
    static func eccPublic(
        attributes: TPMObjectAttributes = AttestationKeyPolicy.requiredAttributes.union(.userWithAuth),
        symmetric: TPMSymmetricDefinition? = nil,
        scheme: TPMScheme? = TPMScheme(algorithm: .ecdsa, hashAlgorithm: .sha256),
        point: [UInt8]
    ) -> [UInt8] {
        var writer = TPMWriter()
        writer.uint16(TPMAlgorithm.ecc.rawValue)
        writer.uint16(TPMAlgorithm.sha256.rawValue)
        writer.uint32(attributes.rawValue)
        writer.sized([])
        appendSymmetric(symmetric, to: &writer)
        appendScheme(scheme, to: &writer)
        writer.uint16(TPMECCCurve.nistP256.rawValue)
        writer.uint16(TPMAlgorithm.null.rawValue)
        writer.sized(Array(point.prefix(32)))
        writer.sized(Array(point.suffix(32)))
        return writer.bytes
    }

    /// A marshalled quote `TPMS_ATTEST`.
    static func quoteAttest(magic: UInt32 = TPMAttestation.generatedValue, type: UInt16 = TPMAttestation.quoteTag,
                            extraData: [UInt8], pcrs: [Int], pcrDigest: [UInt8]) -> [UInt8] {
        var writer = TPMWriter()
        writer.uint32(magic)
        writer.uint16(type)
        writer.sized([0x00, 0x0B] + [UInt8](repeating: 0xAA, count: 32))
        writer.sized(extraData)
        writer.raw([0, 0, 0, 0, 0, 0, 0x10, 0])  // clock
        writer.uint32(3)  // resetCount
        writer.uint32(0)  // restartCount
        writer.uint8(1)  // safe
        writer.raw([0x20, 0x19, 0x10, 0x23, 0, 0x16, 0x36, 0x36])  // firmwareVersion
        writer.raw(PCRSelection.marshalList([PCRSelection(hash: .sha256, indices: pcrs)]))
        writer.sized(pcrDigest)
        return writer.bytes
    }

    /// A marshalled RSASSA-SHA256 `TPMT_SIGNATURE`.
    static func rsassaSignature(_ signature: [UInt8]) -> [UInt8] {
        var writer = TPMWriter()
        writer.uint16(TPMAlgorithm.rsassa.rawValue)
        writer.uint16(TPMAlgorithm.sha256.rawValue)
        writer.sized(signature)
        return writer.bytes
    }

    private static func appendSymmetric(_ symmetric: TPMSymmetricDefinition?, to writer: inout TPMWriter) {
        guard let symmetric else {
            writer.uint16(TPMAlgorithm.null.rawValue)
            return
        }
        writer.uint16(symmetric.algorithm.rawValue)
        writer.uint16(symmetric.keyBits)
        writer.uint16(symmetric.mode.rawValue)
    }

    private static func appendScheme(_ scheme: TPMScheme?, to writer: inout TPMWriter) {
        guard let scheme else {
            writer.uint16(TPMAlgorithm.null.rawValue)
            return
        }
        writer.uint16(scheme.algorithm.rawValue)
        if let hash = scheme.hashAlgorithm {
            writer.uint16(hash.rawValue)
        }
    }

    /// The modulus of an RSA key, big-endian.
    static func modulus(of key: _RSA.Signing.PrivateKey) throws -> [UInt8] {
        Array(try key.publicKey.getKeyPrimitives().modulus)
    }

    /// A deterministic pseudo-random generator for garbage-input tests.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
