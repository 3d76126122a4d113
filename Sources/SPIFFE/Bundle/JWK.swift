import Crypto
import Foundation
import _CryptoExtras
import X509

/// A JSON Web Key (RFC 7517) as it appears in JWKS documents and SPIFFE bundles.
///
/// Only public parameters are modelled; a private parameter in a bundle is ignored.
public struct JWK: Codable, Hashable, Sendable {
    public var kty: String
    public var kid: String?
    public var use: String?
    public var alg: String?
    public var crv: String?
    public var x: String?
    public var y: String?
    public var n: String?
    public var e: String?
    public var x5c: [String]?

    /// `use` of an X.509 authority in a SPIFFE bundle.
    public static let x509SVIDUse = "x509-svid"
    /// `use` of a JWT authority in a SPIFFE bundle.
    public static let jwtSVIDUse = "jwt-svid"

    /// A JWK for a public key (EC P-256/P-384/P-521 or RSA).
    public init(publicKey: Certificate.PublicKey, kid: String?, use: String?) throws(JWKError) {
        self.kty = ""
        self.kid = kid
        self.use = use
        if let key = P256.Signing.PublicKey(publicKey) {
            try setEC(curve: "P-256", x963: Array(key.x963Representation), coordinateSize: 32)
        } else if let key = P384.Signing.PublicKey(publicKey) {
            try setEC(curve: "P-384", x963: Array(key.x963Representation), coordinateSize: 48)
        } else if let key = P521.Signing.PublicKey(publicKey) {
            try setEC(curve: "P-521", x963: Array(key.x963Representation), coordinateSize: 66)
        } else if let key = _RSA.Signing.PublicKey(publicKey) {
            let primitives: _RSA.Signing.PublicKey.Primitives
            do {
                primitives = try key.getKeyPrimitives()
            } catch {
                throw .invalid("cannot read RSA key: \(error)")
            }
            self.kty = "RSA"
            self.n = Base64URL.encode(primitives.modulus)
            self.e = Base64URL.encode(primitives.publicExponent)
        } else {
            throw .unsupported("only EC P-256, P-384, P-521 and RSA keys are supported")
        }
    }

    private mutating func setEC(curve: String, x963: [UInt8], coordinateSize: Int) throws(JWKError) {
        guard x963.count == 1 + 2 * coordinateSize, x963.first == 0x04 else { throw .invalid("unexpected EC point encoding") }
        self.kty = "EC"
        self.crv = curve
        self.x = Base64URL.encode(x963[1...coordinateSize])
        self.y = Base64URL.encode(x963[(1 + coordinateSize)...])
    }

    /// A JWK carrying an X.509 authority (`x5c` with one DER certificate) for a SPIFFE bundle.
    public init(x509Authority certificate: Certificate) throws(JWKError) {
        try self.init(publicKey: certificate.publicKey, kid: nil, use: Self.x509SVIDUse)
        self.x5c = [Data(CertificateEncoding.der(certificate)).base64EncodedString()]
    }

    /// The public key this JWK describes.
    public func publicKey() throws(JWKError) -> Certificate.PublicKey {
        switch kty {
        case "EC":
            guard let crv else { throw .invalid("EC key has no 'crv'") }
            guard let x, let y else { throw .invalid("EC key needs 'x' and 'y'") }
            guard let xBytes = Base64URL.decode(x), let yBytes = Base64URL.decode(y) else {
                throw .invalid("EC key coordinates are not base64url")
            }
            let point = [0x04] + xBytes + yBytes
            do {
                switch crv {
                case "P-256":
                    guard xBytes.count == 32, yBytes.count == 32 else { throw JWKError.invalid("P-256 coordinates must be 32 bytes") }
                    return Certificate.PublicKey(try P256.Signing.PublicKey(x963Representation: point))
                case "P-384":
                    guard xBytes.count == 48, yBytes.count == 48 else { throw JWKError.invalid("P-384 coordinates must be 48 bytes") }
                    return Certificate.PublicKey(try P384.Signing.PublicKey(x963Representation: point))
                case "P-521":
                    guard xBytes.count == 66, yBytes.count == 66 else { throw JWKError.invalid("P-521 coordinates must be 66 bytes") }
                    return Certificate.PublicKey(try P521.Signing.PublicKey(x963Representation: point))
                default:
                    throw JWKError.unsupported("EC curve '\(crv)' (supported: P-256, P-384, P-521)")
                }
            } catch let error as JWKError {
                throw error
            } catch {
                throw .invalid("EC point is not on curve \(crv)")
            }
        case "RSA":
            guard let n, let e else { throw .invalid("RSA key needs 'n' and 'e'") }
            guard let modulus = Base64URL.decode(n), let exponent = Base64URL.decode(e) else {
                throw .invalid("RSA key parameters are not base64url")
            }
            do {
                return Certificate.PublicKey(try _RSA.Signing.PublicKey(n: modulus, e: exponent))
            } catch {
                throw .invalid("RSA key rejected (keys must be at least 2048 bits): \(error)")
            }
        case "":
            throw .invalid("key has no 'kty'")
        default:
            throw .unsupported("key type '\(kty)' (supported: EC, RSA)")
        }
    }

    /// The certificate in `x5c`, for X.509 authorities.
    func x509Authority(index: Int) throws(BundleError) -> Certificate {
        let entries = x5c ?? []
        guard entries.count == 1 else { throw .x509EntryCertificateCount(index: index, count: entries.count) }
        guard let der = Data(base64Encoded: entries[0]) else {
            throw .invalidKey(index: index, reason: "'x5c' is not base64")
        }
        do {
            return try Certificate(derEncoded: Array(der))
        } catch {
            throw .invalidKey(index: index, reason: "'x5c' is not a valid X.509 certificate: \(error)")
        }
    }
}

/// Why a JWK could not be turned into a key, or a key into a JWK.
public enum JWKError: Error, Hashable, Sendable, CustomStringConvertible {
    case unsupported(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unsupported(let reason): return "unsupported key: \(reason)"
        case .invalid(let reason): return "invalid key: \(reason)"
        }
    }
}

/// A JWK Set document with the SPIFFE bundle's optional members.
struct JWKSDocument: Codable {
    var keys: [JWK]?
    var spiffe_sequence: UInt64?
    var spiffe_refresh_hint: Int64?

    static func decode(_ bytes: some Collection<UInt8>) throws(BundleError) -> JWKSDocument {
        if bytes.isEmpty { throw .empty }
        if bytes.count > CertificateEncoding.maximumInputSize {
            throw .tooLarge(size: bytes.count, limit: CertificateEncoding.maximumInputSize)
        }
        do {
            return try JSONDecoder().decode(JWKSDocument.self, from: Data(bytes))
        } catch let DecodingError.dataCorrupted(context) {
            throw .invalidJSON(context.debugDescription)
        } catch let DecodingError.typeMismatch(_, context) {
            throw .invalidJSON("\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw .invalidJSON("\(context.codingPath.map(\.stringValue).joined(separator: ".")): missing '\(key.stringValue)'")
        } catch {
            throw .invalidJSON(String(describing: error))
        }
    }

    func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and numbers cannot fail.
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }
}
