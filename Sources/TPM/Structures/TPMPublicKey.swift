import Crypto
import X509
import _CryptoExtras

/// The public key of a TPM object as a swift-crypto key.
///
/// RSA keys are exposed as `_RSA.Signing.PublicKey` even for decryption keys such as an RSA EK,
/// because that is the type swift-certificates compares certificate keys with.
public enum TPMPublicKey: Sendable {
    /// An RSA key (2048 bits or more).
    case rsa(_RSA.Signing.PublicKey)
    /// A NIST P-256 key.
    case p256(P256.Signing.PublicKey)
    /// A NIST P-384 key.
    case p384(P384.Signing.PublicKey)
    /// A NIST P-521 key.
    case p521(P521.Signing.PublicKey)

    /// The same key as a swift-certificates public key, e.g. to compare with an EK certificate.
    public var certificatePublicKey: Certificate.PublicKey {
        switch self {
        case .rsa(let key): return Certificate.PublicKey(key)
        case .p256(let key): return Certificate.PublicKey(key)
        case .p384(let key): return Certificate.PublicKey(key)
        case .p521(let key): return Certificate.PublicKey(key)
        }
    }
}

extension TPMPublicArea {
    /// The object's public key as a swift-crypto key.
    ///
    /// - Throws: ``TPMStructureError`` if the key material is missing, the curve is unsupported, or
    ///   swift-crypto refuses the key (e.g. an RSA modulus below 2048 bits or a point not on the curve).
    public func publicKey() throws(TPMStructureError) -> TPMPublicKey {
        switch parameters {
        case .rsa(let rsa):
            guard !rsa.modulus.isEmpty else {
                throw .invalid(structure: "TPMT_PUBLIC", field: "unique.rsa", reason: "empty modulus (a template, not a key)")
            }
            let exponent = rsa.effectiveExponent
            let exponentBytes = withUnsafeBytes(of: exponent.bigEndian) { Array($0) }.drop { $0 == 0 }
            do {
                return .rsa(try _RSA.Signing.PublicKey(n: rsa.modulus, e: Array(exponentBytes)))
            } catch {
                throw .invalid(structure: "TPMT_PUBLIC", field: "unique.rsa", reason: "swift-crypto refused the RSA key: \(error)")
            }
        case .ecc(let ecc):
            guard let size = ecc.curve.coordinateSize else {
                throw .unsupported(structure: "TPMT_PUBLIC", field: "parameters.curveID", value: UInt32(ecc.curve.rawValue))
            }
            let raw = Self.leftPadded(ecc.x, to: size) + Self.leftPadded(ecc.y, to: size)
            do {
                switch ecc.curve {
                case .nistP256: return .p256(try P256.Signing.PublicKey(rawRepresentation: raw))
                case .nistP384: return .p384(try P384.Signing.PublicKey(rawRepresentation: raw))
                default: return .p521(try P521.Signing.PublicKey(rawRepresentation: raw))
                }
            } catch {
                throw .invalid(structure: "TPMT_PUBLIC", field: "unique.ecc", reason: "swift-crypto refused the point on \(ecc.curve): \(error)")
            }
        }
    }

    static func leftPadded(_ bytes: [UInt8], to size: Int) -> [UInt8] {
        bytes.count >= size ? bytes : [UInt8](repeating: 0, count: size - bytes.count) + bytes
    }
}
