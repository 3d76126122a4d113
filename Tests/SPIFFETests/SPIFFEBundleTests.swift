import Crypto
import Foundation
import SPIFFE
import Testing
import X509

@Suite("SPIFFE bundles")
struct SPIFFEBundleTests {
    let trustDomain: TrustDomain

    init() throws { trustDomain = try TrustDomain("example.org") }

    @Test func readsAuthoritiesSequenceAndRefreshHintAndIgnoresUnknownUse() throws {
        let bundle = try SPIFFEBundle(trustDomain: trustDomain, json: try Fixture.bytes("spiffebundle_valid.json"))
        #expect(bundle.sequenceNumber == 42)
        #expect(bundle.refreshHint == 300)
        let roots = try X509Bundle(trustDomain: trustDomain, parsing: try Fixture.bytes("x509bundle_two_roots.pem"))
        #expect(bundle.x509Authorities == roots.authorities)
        // "some-future-use" is skipped, as the specification asks.
        #expect(bundle.jwtAuthorities.keys.sorted() == ["ec-p256", "rsa-2048"])
        #expect(bundle.x509Bundle.authorities == roots.authorities)
        #expect(bundle.jwtBundle.authorities == bundle.jwtAuthorities)
    }

    @Test func writesAndReadsBackPreservingEverything() throws {
        let bundle = try SPIFFEBundle(trustDomain: trustDomain, json: try Fixture.bytes("spiffebundle_valid.json"))
        let json = try bundle.json()
        #expect(try SPIFFEBundle(trustDomain: trustDomain, json: json) == bundle)

        let document = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(document["spiffe_sequence"] as? Int == 42)
        #expect(document["spiffe_refresh_hint"] as? Int == 300)
        let keys = try #require(document["keys"] as? [[String: Any]])
        #expect(keys.map { $0["use"] as? String } == ["x509-svid", "x509-svid", "jwt-svid", "jwt-svid"])
        // Each X.509 authority carries exactly one certificate in x5c, matching its public key.
        for key in keys.prefix(2) {
            let x5c = try #require(key["x5c"] as? [String])
            #expect(x5c.count == 1)
            let certificate = try Certificate(derEncoded: Array(try #require(Data(base64Encoded: x5c[0]))))
            #expect(try JWK(publicKey: certificate.publicKey, kid: nil, use: nil).kty == key["kty"] as? String)
        }
    }

    @Test func omitsSequenceAndRefreshHintWhenUnset() throws {
        let bundle = SPIFFEBundle(trustDomain: trustDomain, jwtAuthorities: ["k": Certificate.PublicKey(P256.Signing.PrivateKey().publicKey)])
        let document = try #require(try JSONSerialization.jsonObject(with: try bundle.json()) as? [String: Any])
        #expect(document["spiffe_sequence"] == nil)
        #expect(document["spiffe_refresh_hint"] == nil)
        #expect(try SPIFFEBundle(trustDomain: trustDomain, json: try bundle.json()) == bundle)
    }

    @Test("refuses malformed SPIFFE bundles, naming the rule", arguments: [
        ("spiffebundle_missing_kid.json", BundleError.missingKeyID(index: 0), "has no 'kid'"),
        ("spiffebundle_duplicate_kid.json", .duplicateKeyID("same"), "appears more than once"),
        ("spiffebundle_x5c_two_certs.json", .x509EntryCertificateCount(index: 0, count: 2), "exactly 1 required"),
        ("spiffebundle_x5c_missing.json", .x509EntryCertificateCount(index: 0, count: 0), "exactly 1 required"),
        ("jwks_no_keys.json", .missingKeys, "no 'keys'"),
    ])
    func refuses(_ fixture: String, _ expected: BundleError, _ rule: String) throws {
        let bytes = try Fixture.bytes(fixture)
        let error = #expect(throws: BundleError.self) { try SPIFFEBundle(trustDomain: trustDomain, json: bytes) }
        #expect(error == expected)
        #expect(error?.description.contains(rule) == true)
    }

    @Test func refusesAnX5CThatIsNotACertificate() throws {
        let bytes = try Fixture.bytes("spiffebundle_x5c_not_certificate.json")
        let error = #expect(throws: BundleError.self) { try SPIFFEBundle(trustDomain: trustDomain, json: bytes) }
        guard case .invalidKey(index: 0, let reason)? = error else {
            Issue.record("expected invalidKey, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("not a valid X.509 certificate"))
    }

    @Test func bundleIsOnlyForItsTrustDomain() throws {
        let bundle = SPIFFEBundle(trustDomain: trustDomain)
        let other = try TrustDomain("other.org")
        #expect(throws: BundleError.noBundle(other)) { try bundle.x509Bundle(for: other) }
        #expect(throws: BundleError.noBundle(other)) { try bundle.jwtBundle(for: other) }
        #expect(try bundle.jwtBundle(for: trustDomain).authorities.isEmpty)
    }
}
