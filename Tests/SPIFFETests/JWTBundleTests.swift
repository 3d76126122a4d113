import Crypto
import Foundation
import SPIFFE
import Testing
import X509

@Suite("JWT bundles (JWKS)")
struct JWTBundleTests {
    let trustDomain: TrustDomain

    init() throws { trustDomain = try TrustDomain("example.org") }

    @Test func readsECAndRSAKeysAndSkipsOtherUses() throws {
        let bundle = try JWTBundle(trustDomain: trustDomain, jwks: try Fixture.bytes("jwks_valid.json"))
        #expect(bundle.authorities.keys.sorted() == ["ec-p256", "ec-p384", "rsa-2048"])
        #expect(bundle.authority(keyID: "encryption-key") == nil)
        #expect(P256.Signing.PublicKey(try #require(bundle.authority(keyID: "ec-p256"))) != nil)
        #expect(P384.Signing.PublicKey(try #require(bundle.authority(keyID: "ec-p384"))) != nil)
    }

    @Test func writesAJWKSThatReadsBackWithTheSameKeys() throws {
        let bundle = try JWTBundle(trustDomain: trustDomain, jwks: try Fixture.bytes("jwks_valid.json"))
        let jwks = try bundle.jwks()
        let reread = try JWTBundle(trustDomain: trustDomain, jwks: jwks)
        #expect(reread == bundle)
        // The written keys carry kid and use: jwt-svid, as SPIFFE requires.
        let document = try #require(try JSONSerialization.jsonObject(with: jwks) as? [String: Any])
        let keys = try #require(document["keys"] as? [[String: Any]])
        #expect(keys.map { $0["kid"] as? String } == ["ec-p256", "ec-p384", "rsa-2048"])
        #expect(keys.allSatisfy { $0["use"] as? String == "jwt-svid" })
        // Coordinates are preserved exactly (compare with the fixture written by Python).
        let original = try #require(try JSONSerialization.jsonObject(with: Data(try Fixture.bytes("jwks_valid.json"))) as? [String: Any])
        let originalKeys = try #require(original["keys"] as? [[String: Any]])
        #expect(keys[0]["x"] as? String == originalKeys[0]["x"] as? String)
        #expect(keys[2]["n"] as? String == originalKeys[2]["n"] as? String)
    }

    @Test func setAndRemoveAuthorities() throws {
        var bundle = JWTBundle(trustDomain: trustDomain)
        let key = Certificate.PublicKey(P256.Signing.PrivateKey().publicKey)
        bundle.setAuthority(key, keyID: "k1")
        #expect(bundle.authority(keyID: "k1") == key)
        bundle.removeAuthority(keyID: "k1")
        #expect(bundle.authorities.isEmpty)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let fixture: String
        let check: @Sendable (BundleError) -> Bool
        let rule: String
        var testDescription: String { fixture }
    }

    static let refusals: [Refusal] = [
        Refusal(fixture: "jwks_missing_kid.json", check: { $0 == .missingKeyID(index: 1) }, rule: "key 2 has no 'kid'"),
        Refusal(fixture: "jwks_duplicate_kid.json", check: { $0 == .duplicateKeyID("same") }, rule: "'same' appears more than once"),
        Refusal(fixture: "jwks_unsupported_kty.json", check: { if case .unsupportedKey(0, _) = $0 { true } else { false } }, rule: "key type 'oct'"),
        Refusal(fixture: "jwks_okp_key.json", check: { if case .unsupportedKey(0, _) = $0 { true } else { false } }, rule: "key type 'OKP'"),
        Refusal(fixture: "jwks_unsupported_crv.json", check: { if case .unsupportedKey(0, _) = $0 { true } else { false } }, rule: "curve 'secp256k1'"),
        Refusal(fixture: "jwks_bad_coordinates.json", check: { if case .invalidKey(0, _) = $0 { true } else { false } }, rule: "must be 32 bytes"),
        Refusal(fixture: "jwks_point_not_on_curve.json", check: { if case .invalidKey(0, _) = $0 { true } else { false } }, rule: "not on curve P-256"),
        Refusal(fixture: "jwks_coordinates_not_base64.json", check: { if case .invalidKey(0, _) = $0 { true } else { false } }, rule: "not base64url"),
        Refusal(fixture: "jwks_rsa_1024.json", check: { if case .invalidKey(0, _) = $0 { true } else { false } }, rule: "at least 2048 bits"),
        Refusal(fixture: "jwks_no_keys.json", check: { $0 == .missingKeys }, rule: "no 'keys' array"),
        Refusal(fixture: "jwks_not_json.json", check: { if case .invalidJSON = $0 { true } else { false } }, rule: "not valid JSON"),
        Refusal(fixture: "jwks_keys_not_array.json", check: { if case .invalidJSON = $0 { true } else { false } }, rule: "keys"),
    ]

    @Test("refuses malformed JWKS, naming the rule", arguments: refusals)
    func refuses(_ refusal: Refusal) throws {
        let bytes = try Fixture.bytes(refusal.fixture)
        let error = try #require(#expect(throws: BundleError.self) { try JWTBundle(trustDomain: trustDomain, jwks: bytes) })
        #expect(refusal.check(error), "unexpected error \(error)")
        #expect(error.description.contains(refusal.rule), "'\(error)' should mention \(refusal.rule)")
    }

    @Test func refusesEmptyAndOversizedDocuments() {
        #expect(throws: BundleError.empty) { try JWTBundle(trustDomain: trustDomain, jwks: [UInt8]()) }
        let huge = [UInt8](repeating: UInt8(ascii: " "), count: CertificateEncoding.maximumInputSize + 1)
        #expect(throws: BundleError.tooLarge(size: huge.count, limit: CertificateEncoding.maximumInputSize)) {
            try JWTBundle(trustDomain: trustDomain, jwks: huge)
        }
    }

    @Test func jwkRoundTripForEveryCurveAndRSA() throws {
        let keys: [Certificate.PublicKey] = [
            Certificate.PublicKey(P256.Signing.PrivateKey().publicKey),
            Certificate.PublicKey(P384.Signing.PrivateKey().publicKey),
            Certificate.PublicKey(P521.Signing.PrivateKey().publicKey),
        ]
        for key in keys {
            let jwk = try JWK(publicKey: key, kid: "k", use: JWK.jwtSVIDUse)
            #expect(jwk.kty == "EC")
            #expect(try jwk.publicKey() == key)
        }
        let ed = Certificate.PublicKey(Curve25519.Signing.PrivateKey().publicKey)
        #expect(throws: JWKError.self) { try JWK(publicKey: ed, kid: "k", use: nil) }
        let missing = try JSONDecoder().decode(JWK.self, from: Data(#"{"kty": ""}"#.utf8))
        #expect(throws: JWKError.invalid("key has no 'kty'")) { try missing.publicKey() }
    }
}
