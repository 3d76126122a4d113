import Crypto
import Foundation
import JWTKit
import X509
import _CryptoExtras

/// Verifies JWT-SVIDs per the JWT-SVID specification: the JOSE header (an allowed `alg`, `typ`
/// absent or JWT/JOSE, a `kid`), the key looked up by `kid` in the bundle of the subject's trust
/// domain, the signature (through jwt-kit, with the algorithm pinned to the bundle key's type),
/// then `exp`, `nbf` and `aud`.
public struct JWTSVIDVerifier: Sendable {
    /// Where the JWT authorities come from.
    public var bundles: any JWTBundleSource
    /// Clock skew tolerated on `exp` and `nbf`.
    public var leeway: Duration

    public init(bundles: any JWTBundleSource, leeway: Duration = .seconds(10)) {
        self.bundles = bundles
        self.leeway = leeway
    }

    /// Verifies `token` for `audience` at time `now`.
    ///
    /// - Throws: ``JWTSVIDError`` naming the first rule the token broke.
    public func verify(_ token: String, audience: String, now: Date = Date()) async throws(JWTSVIDError) -> JWTSVID {
        let svid = try JWTSVID(parsing: token)
        let bundle: JWTBundle
        do {
            bundle = try bundles.jwtBundle(for: svid.spiffeID.trustDomain)
        } catch {
            throw .noBundle(error)
        }
        guard let key = bundle.authority(keyID: svid.keyID) else {
            throw .unknownKeyID(svid.keyID, trustDomain: svid.spiffeID.trustDomain)
        }
        try await Self.verifySignature(svid.token, algorithm: svid.algorithm, key: key)

        let skew = Double(leeway.components.seconds) + Double(leeway.components.attoseconds) / 1e18
        if now.timeIntervalSince(svid.expiry) > skew { throw .expired(expiry: svid.expiry, now: now) }
        if let notBefore = svid.notBefore, notBefore.timeIntervalSince(now) > skew { throw .notYetValid(notBefore: notBefore) }
        guard svid.audience.contains(audience) else { throw .audienceMismatch(expected: audience, actual: svid.audience) }
        return svid
    }

    /// Checks the JWS signature with jwt-kit, using exactly the algorithm the header names and
    /// only if it fits the key type (so an RSA key is never used for ES256, nor a P-256 key for ES384).
    static func verifySignature(_ token: String, algorithm: String, key: Certificate.PublicKey) async throws(JWTSVIDError) {
        let keys = JWTKeyCollection()
        do {
            switch algorithm {
            case "ES256":
                guard let ec = P256.Signing.PublicKey(key) else { throw JWTSVIDError.keyAlgorithmMismatch(algorithm: algorithm, key: Self.describe(key)) }
                await keys.add(ecdsa: try ES256PublicKey(backing: ec))
            case "ES384":
                guard let ec = P384.Signing.PublicKey(key) else { throw JWTSVIDError.keyAlgorithmMismatch(algorithm: algorithm, key: Self.describe(key)) }
                await keys.add(ecdsa: try ES384PublicKey(backing: ec))
            case "ES512":
                guard let ec = P521.Signing.PublicKey(key) else { throw JWTSVIDError.keyAlgorithmMismatch(algorithm: algorithm, key: Self.describe(key)) }
                await keys.add(ecdsa: try ES512PublicKey(backing: ec))
            case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
                guard let rsa = _RSA.Signing.PublicKey(key) else { throw JWTSVIDError.keyAlgorithmMismatch(algorithm: algorithm, key: Self.describe(key)) }
                let rsaKey = try Insecure.RSA.PublicKey(backing: rsa)
                let digest: DigestAlgorithm = algorithm.hasSuffix("256") ? .sha256 : algorithm.hasSuffix("384") ? .sha384 : .sha512
                if algorithm.hasPrefix("PS") {
                    await keys.add(pss: rsaKey, digestAlgorithm: digest)
                } else {
                    await keys.add(rsa: rsaKey, digestAlgorithm: digest)
                }
            default:
                throw JWTSVIDError.unsupportedAlgorithm(algorithm)
            }
        } catch let error as JWTSVIDError {
            throw error
        } catch {
            throw .keyAlgorithmMismatch(algorithm: algorithm, key: Self.describe(key))
        }
        do {
            _ = try await keys.verify(token, as: OpaquePayload.self)
        } catch {
            throw .invalidSignature
        }
    }

    static func describe(_ key: Certificate.PublicKey) -> String {
        if P256.Signing.PublicKey(key) != nil { return "EC P-256" }
        if P384.Signing.PublicKey(key) != nil { return "EC P-384" }
        if P521.Signing.PublicKey(key) != nil { return "EC P-521" }
        if _RSA.Signing.PublicKey(key) != nil { return "RSA" }
        return "unsupported"
    }
}

/// A payload jwt-kit decodes without checking anything: the SPIFFE claims are checked by
/// ``JWTSVIDVerifier`` itself, with precise errors.
struct OpaquePayload: JWTPayload {
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
