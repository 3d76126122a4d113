import Authority
import Crypto
import Foundation
import SPIFFE
import Testing
import X509
import _CryptoExtras

@Suite("JWT authority")
struct JWTAuthorityTests {
    /// RFC 7638 §3.1: the example RSA key and its thumbprint.
    @Test func thumbprintMatchesRFC7638Example() throws {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        let key = try _RSA.Signing.PublicKey(n: try #require(Base64URLTest.decode(n)), e: Data([0x01, 0x00, 0x01]))
        #expect(try JWTAuthority.thumbprint(of: Certificate.PublicKey(key)) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    }

    /// The RFC 7515 A.3 example P-256 key; thumbprint computed with Python
    /// (`json.dumps(jwk, sort_keys=True, separators=(",", ":"))`, SHA-256, base64url).
    @Test func thumbprintOfAnECKey() throws {
        let x = try #require(Base64URLTest.decode("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"))
        let y = try #require(Base64URLTest.decode("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"))
        let key = try P256.Signing.PublicKey(x963Representation: [0x04] + x + y)
        #expect(try JWTAuthority.thumbprint(of: Certificate.PublicKey(key)) == "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U")
    }

    @Test func thumbprintRefusesUnsupportedKeys() {
        let ed = Certificate.PublicKey(Curve25519.Signing.PrivateKey().publicKey)
        let error = #expect(throws: AuthorityError.self) { try JWTAuthority.thumbprint(of: ed) }
        guard case .invalidKey? = error else {
            Issue.record("expected invalidKey, got \(String(describing: error))")
            return
        }
    }

    @Test("signs with each key algorithm; kid is the key's thumbprint", arguments: KeyAlgorithm.allCases)
    func signs(_ algorithm: KeyAlgorithm) async throws {
        let now = TestValues.wholeSeconds()
        let authority = try JWTAuthority.generate(trustDomain: TestValues.trustDomain, keyAlgorithm: algorithm, notAfter: now.addingTimeInterval(3600))
        #expect(authority.keyID == (try JWTAuthority.thumbprint(of: authority.publicKey)))
        let token = try await authority.sign(
            spiffeID: TestValues.workload, audience: ["svc-a", "svc-b"], ttl: .seconds(120),
            extraClaims: ["lineage": .array([.string("x")]), "sub": .string("spiffe://example.org/admin"), "exp": .integer(1)],
            now: now)
        let header = try Base64URLTest.part(token, 0)
        #expect(header["alg"] as? String == authority.key.jwsAlgorithm)
        #expect(header["kid"] as? String == authority.keyID)
        #expect(header["typ"] as? String == "JWT")
        let claims = try Base64URLTest.part(token, 1)
        #expect(claims["sub"] as? String == "spiffe://example.org/workload")  // extra claims cannot override
        #expect(claims["aud"] as? [String] == ["svc-a", "svc-b"])
        #expect(claims["iat"] as? Int == Int(now.timeIntervalSince1970))
        #expect(claims["exp"] as? Int == Int(now.timeIntervalSince1970) + 120)
        #expect(claims["lineage"] as? [String] == ["x"])

        let bundle = JWTBundle(trustDomain: TestValues.trustDomain, authorities: [authority.keyID: authority.publicKey])
        let svid = try await JWTSVIDVerifier(bundles: bundle).verify(token, audience: "svc-a", now: now)
        #expect(svid.spiffeID == TestValues.workload)
    }

    @Test func explicitKeyIDIsKept() throws {
        let authority = try JWTAuthority(trustDomain: TestValues.trustDomain, key: try SigningKey(generating: .ecP256), notAfter: Date(), keyID: "rotation-7")
        #expect(authority.keyID == "rotation-7")
    }

    @Test func expiryIsClampedToTheAuthoritysNotAfter() async throws {
        let now = TestValues.wholeSeconds()
        let authority = try JWTAuthority.generate(trustDomain: TestValues.trustDomain, notAfter: now.addingTimeInterval(30))
        let token = try await authority.sign(spiffeID: TestValues.workload, audience: ["a"], ttl: .seconds(300), now: now)
        #expect(try Base64URLTest.part(token, 1)["exp"] as? Int == Int(now.timeIntervalSince1970) + 30)
    }

    @Test func defaultTTLIsFiveMinutes() async throws {
        let now = TestValues.wholeSeconds()
        let authority = try JWTAuthority.generate(trustDomain: TestValues.trustDomain, notAfter: now.addingTimeInterval(3600))
        let token = try await authority.sign(spiffeID: TestValues.workload, audience: ["a"], now: now)
        #expect(try Base64URLTest.part(token, 1)["exp"] as? Int == Int(now.timeIntervalSince1970) + 300)
    }

    @Test func refusals() async throws {
        let now = TestValues.wholeSeconds()
        let authority = try JWTAuthority.generate(trustDomain: TestValues.trustDomain, notAfter: now.addingTimeInterval(3600))
        let stranger = try SPIFFEID("spiffe://other.org/w")
        await #expect(throws: AuthorityError.trustDomainMismatch(expected: TestValues.trustDomain, found: stranger.trustDomain)) {
            try await authority.sign(spiffeID: stranger, audience: ["a"], now: now)
        }
        await #expect(throws: AuthorityError.signing("a JWT-SVID needs a non-empty audience")) {
            try await authority.sign(spiffeID: TestValues.workload, audience: [], now: now)
        }
        await #expect(throws: AuthorityError.signing("a JWT-SVID needs a non-empty audience")) {
            try await authority.sign(spiffeID: TestValues.workload, audience: ["a", ""], now: now)
        }
        await #expect(throws: AuthorityError.invalidTTL("must be positive")) {
            try await authority.sign(spiffeID: TestValues.workload, audience: ["a"], ttl: .zero, now: now)
        }
        await #expect(throws: AuthorityError.caExpired(notAfter: authority.notAfter)) {
            try await authority.sign(spiffeID: TestValues.workload, audience: ["a"], now: authority.notAfter)
        }
    }
}
