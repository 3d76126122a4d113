import Crypto
import Foundation
import SPIFFE
import SwiftASN1
import X509
import _CryptoExtras

/// The key algorithms the authority can create.
public enum KeyAlgorithm: String, Sendable, CaseIterable, Codable {
    case ecP256 = "ec-p256"
    case ecP384 = "ec-p384"
    case rsa2048 = "rsa-2048"
    case rsa3072 = "rsa-3072"

    /// EC P-256: the default, as in SPIRE.
    public static let `default` = KeyAlgorithm.ecP256
}

/// A private signing key the authority holds: for X.509 certificates, CRLs and JWT-SVIDs.
public struct SigningKey: Sendable {
    enum Backing: Sendable {
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case rsa(_RSA.Signing.PrivateKey)
    }

    let backing: Backing

    /// Generates a new key.
    public init(generating algorithm: KeyAlgorithm = .default) throws(AuthorityError) {
        switch algorithm {
        case .ecP256: backing = .p256(try Self.ecKey(scalarBytes: 32) { try P256.Signing.PrivateKey(rawRepresentation: $0) })
        case .ecP384: backing = .p384(try Self.ecKey(scalarBytes: 48) { try P384.Signing.PrivateKey(rawRepresentation: $0) })
        case .rsa2048, .rsa3072:
            do {
                let bits = algorithm == .rsa2048 ? 2048 : 3072
                backing = .rsa(try _RSA.Signing.PrivateKey(keySize: .init(bitCount: bits)))
            } catch {
                throw .keyGeneration(String(describing: error))
            }
        }
    }

    /// An EC private key whose scalar is drawn from the system's cryptographically secure random
    /// number generator (`getrandom` on Linux), redrawn if it is not in [1, n − 1] (FIPS 186-5
    /// A.2.2, rejection sampling; for P-256 one draw in 2³² is redrawn); swift-crypto derives the
    /// public key and checks the range.
    ///
    /// Not swift-crypto's own generator, whose keys cost several times more: it draws until a key
    /// is compact-representable (about two draws per key) and runs a FIPS pairwise test on each
    /// draw (a signature and its verification). An agent makes a key for every SVID, and `exec`
    /// one per run: issuance end to end (load tool, 5 000 SVIDs, 2026-12-08) was 0.18–0.20× the
    /// raw sign+verify rate with swift-crypto's default keys, 0.22–0.24× with its keys that need
    /// not be compact-representable, and is 0.24–0.28× with these. A key that did not match its
    /// public half would still be caught: the server verifies the CSR it signs.
    static func ecKey<Key>(scalarBytes: Int, _ make: ([UInt8]) throws -> Key) throws(AuthorityError) -> Key {
        var scalar = [UInt8](repeating: 0, count: scalarBytes)
        defer { scalar.withUnsafeMutableBytes { buffer in _ = buffer.initializeMemory(as: UInt8.self, repeating: 0) } }
        for _ in 0..<16 {
            SecureRandom.fill(&scalar)
            if let key = try? make(scalar) { return key }
        }
        throw .keyGeneration("no valid EC private key in 16 draws from the system random number generator")
    }

    /// Reads a PEM private key (PKCS#8, SEC1 or PKCS#1): EC P-256, P-384 or RSA ≥ 2048 bits.
    public init(pem: String) throws(AuthorityError) {
        if let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) {
            backing = .p256(key)
        } else if let key = try? P384.Signing.PrivateKey(pemRepresentation: pem) {
            backing = .p384(key)
        } else if let key = try? _RSA.Signing.PrivateKey(pemRepresentation: pem) {
            backing = .rsa(key)
        } else {
            throw .invalidKey("not a PEM EC P-256, EC P-384 or RSA (≥ 2048 bits) private key")
        }
    }

    /// The key algorithm.
    public var algorithm: KeyAlgorithm {
        switch backing {
        case .p256: return .ecP256
        case .p384: return .ecP384
        case .rsa(let key): return key.keySizeInBits >= 3072 ? .rsa3072 : .rsa2048
        }
    }

    /// The key as PKCS#8 PEM, for storage.
    public var pkcs8PEM: String {
        switch backing {
        case .p256(let key): return key.pemRepresentation + "\n"
        case .p384(let key): return key.pemRepresentation + "\n"
        case .rsa(let key): return key.pkcs8PEMRepresentation + "\n"
        }
    }

    /// The key in swift-certificates' form.
    public var certificatePrivateKey: Certificate.PrivateKey {
        switch backing {
        case .p256(let key): return Certificate.PrivateKey(key)
        case .p384(let key): return Certificate.PrivateKey(key)
        case .rsa(let key): return Certificate.PrivateKey(key)
        }
    }

    /// The public key.
    public var publicKey: Certificate.PublicKey { certificatePrivateKey.publicKey }

    /// The signature algorithm used with this key for certificates and CRLs.
    public var signatureAlgorithm: Certificate.SignatureAlgorithm {
        switch backing {
        case .p256: return .ecdsaWithSHA256
        case .p384: return .ecdsaWithSHA384
        case .rsa: return .sha256WithRSAEncryption
        }
    }

    /// The JWS algorithm used with this key for JWT-SVIDs.
    public var jwsAlgorithm: String {
        switch backing {
        case .p256: return "ES256"
        case .p384: return "ES384"
        case .rsa: return "RS256"
        }
    }
}
