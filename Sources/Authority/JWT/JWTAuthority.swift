import Crypto
import Foundation
import JWTKit
import SPIFFE
import X509
import _CryptoExtras

/// Signs JWT-SVIDs with one key, published in the trust bundle under ``keyID``.
public struct JWTAuthority: Sendable {
    public let trustDomain: TrustDomain
    public let key: SigningKey
    /// The `kid`: the key's RFC 7638 JWK thumbprint.
    public let keyID: String
    /// When the authority stops signing (tokens never outlive it).
    public let notAfter: Date

    public init(trustDomain: TrustDomain, key: SigningKey, notAfter: Date, keyID: String? = nil) throws(AuthorityError) {
        self.trustDomain = trustDomain
        self.key = key
        self.notAfter = notAfter
        if let keyID { self.keyID = keyID } else { self.keyID = try Self.thumbprint(of: key.publicKey) }
    }

    /// A new authority with a fresh key.
    public static func generate(
        trustDomain: TrustDomain, keyAlgorithm: KeyAlgorithm = .default, notAfter: Date
    ) throws(AuthorityError) -> JWTAuthority {
        try JWTAuthority(trustDomain: trustDomain, key: SigningKey(generating: keyAlgorithm), notAfter: notAfter)
    }

    /// The public key, for the bundle.
    public var publicKey: Certificate.PublicKey { key.publicKey }

    /// Signs a JWT-SVID for `spiffeID` and `audience`, valid for `ttl` (never past ``notAfter``),
    /// with any extra claims (for example lineage). Extra claims cannot override `sub`, `aud`,
    /// `exp` or `iat`.
    public func sign(
        spiffeID: SPIFFEID,
        audience: [String],
        ttl: Duration = .seconds(300),
        extraClaims: [String: JSONValue] = [:],
        now: Date = Date()
    ) async throws(AuthorityError) -> String {
        guard spiffeID.trustDomain == trustDomain else {
            throw .trustDomainMismatch(expected: trustDomain, found: spiffeID.trustDomain)
        }
        guard !audience.isEmpty, !audience.contains(where: \.isEmpty) else { throw .signing("a JWT-SVID needs a non-empty audience") }
        guard ttl > .zero else { throw .invalidTTL("must be positive") }
        guard now < notAfter else { throw .caExpired(notAfter: notAfter) }
        let expiry = min(now.addingTimeInterval(ttl.timeInterval), notAfter)
        var claims = extraClaims
        claims["sub"] = .string(spiffeID.description)
        claims["aud"] = .array(audience.map(JSONValue.string))
        claims["iat"] = .integer(Int64(now.timeIntervalSince1970))
        claims["exp"] = .integer(Int64(expiry.timeIntervalSince1970))
        let keys = JWTKeyCollection()
        let kid = JWKIdentifier(string: keyID)
        do {
            switch key.backing {
            case .p256(let privateKey): await keys.add(ecdsa: try ES256PrivateKey(backing: privateKey), kid: kid)
            case .p384(let privateKey): await keys.add(ecdsa: try ES384PrivateKey(backing: privateKey), kid: kid)
            case .rsa(let privateKey): await keys.add(rsa: try Insecure.RSA.PrivateKey(backing: privateKey), digestAlgorithm: .sha256, kid: kid)
            }
            return try await keys.sign(ClaimsPayload(claims: claims), kid: kid, header: ["typ": "JWT"])
        } catch {
            throw .signing(String(describing: error))
        }
    }

    /// RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key.
    public static func thumbprint(of publicKey: Certificate.PublicKey) throws(AuthorityError) -> String {
        let jwk: SPIFFE.JWK
        do {
            jwk = try SPIFFE.JWK(publicKey: publicKey, kid: nil, use: nil)
        } catch {
            throw .invalidKey(error.description)
        }
        // Members in lexicographic order, no whitespace (RFC 7638 §3.2).
        let canonical: String
        if jwk.kty == "RSA" {
            canonical = #"{"e":"\#(jwk.e ?? "")","kty":"RSA","n":"\#(jwk.n ?? "")"}"#
        } else {
            canonical = #"{"crv":"\#(jwk.crv ?? "")","kty":"EC","x":"\#(jwk.x ?? "")","y":"\#(jwk.y ?? "")"}"#
        }
        let digest = SHA256.hash(data: Data(canonical.utf8))
        return Data(digest).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// A JWT payload made of arbitrary JSON claims.
struct ClaimsPayload: JWTPayload {
    var claims: [String: JSONValue]

    init(claims: [String: JSONValue]) { self.claims = claims }

    init(from decoder: any Decoder) throws {
        claims = try [String: JSONValue](from: decoder)
    }

    func encode(to encoder: any Encoder) throws {
        try claims.encode(to: encoder)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
