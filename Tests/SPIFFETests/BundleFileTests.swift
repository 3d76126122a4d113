import Crypto
import Foundation
import SPIFFE
import Testing
import X509

@Suite("Bundle files and bundle sets")
struct BundleFileTests {
    let trustDomain: TrustDomain

    init() throws { trustDomain = try TrustDomain("example.org") }

    @Test("detects the format", arguments: [
        // fixture, X.509 authorities, JWT authorities, sequence number
        ("x509bundle_two_roots.pem", 2, 0, UInt64?.none),
        ("x509bundle_two_roots.der", 2, 0, nil),
        ("x509bundle_one_root.der", 1, 0, nil),
        ("jwks_valid.json", 0, 3, nil),
        ("spiffebundle_valid.json", 2, 2, 42),
        ("spiffebundle_x509_only.json", 1, 0, nil),
    ])
    func detectsFormat(_ fixture: String, _ x509: Int, _ jwt: Int, _ sequence: UInt64?) throws {
        let bundle = try BundleFile.parse(try Fixture.bytes(fixture), trustDomain: trustDomain)
        #expect(bundle.trustDomain == trustDomain)
        #expect(bundle.x509Authorities.count == x509)
        #expect(bundle.jwtAuthorities.count == jwt)
        #expect(bundle.sequenceNumber == sequence)
    }

    @Test func toleratesLeadingWhitespaceAndTextBeforePEM() throws {
        let json = Array("\n\t  ".utf8) + (try Fixture.bytes("jwks_valid.json"))
        #expect(try BundleFile.parse(json, trustDomain: trustDomain).jwtAuthorities.count == 3)
        let pem = Array("subject=CN = Fixture Root EC\n".utf8) + (try Fixture.bytes("x509bundle_two_roots.pem"))
        #expect(try BundleFile.parse(pem, trustDomain: trustDomain).x509Authorities.count == 2)
    }

    @Test("refuses what is no bundle, saying why", arguments: [
        (Array("hello, world".utf8), BundleError.unrecognizedFormat),
        ([UInt8](), .empty),
        // '0' is 0x30, the DER SEQUENCE tag: read as (truncated) DER.
        (Array("0123 not DER".utf8), .invalidCertificates(.invalidCertificate(index: 0, reason: "truncated or not DER"))),
        (Array("[1, 2, 3]".utf8), .unrecognizedFormat),
        ([0x00, 0x01, 0x02], .unrecognizedFormat),
    ])
    func refuses(_ bytes: [UInt8], _ expected: BundleError) {
        #expect(throws: expected) { try BundleFile.parse(bytes, trustDomain: trustDomain) }
    }

    @Test func refusesOversizedFiles() {
        let huge = [UInt8](repeating: UInt8(ascii: "{"), count: CertificateEncoding.maximumInputSize + 1)
        #expect(throws: BundleError.tooLarge(size: huge.count, limit: CertificateEncoding.maximumInputSize)) {
            try BundleFile.parse(huge, trustDomain: trustDomain)
        }
    }

    @Test func bundleSetLooksUpByTrustDomain() throws {
        let other = try TrustDomain("other.org")
        let local = try BundleFile.parse(try Fixture.bytes("spiffebundle_valid.json"), trustDomain: trustDomain)
        let federated = SPIFFEBundle(trustDomain: other, jwtAuthorities: ["o": Certificate.PublicKey(P256.Signing.PrivateKey().publicKey)])
        var set = BundleSet([federated, local])
        #expect(set.count == 2)
        #expect(set.trustDomains == [trustDomain, other])
        #expect(set.all.map(\.trustDomain) == [trustDomain, other])
        #expect(set[trustDomain] == local)
        #expect(try set.x509Bundle(for: trustDomain).authorities == local.x509Authorities)
        #expect(try set.jwtBundle(for: other).authorities.keys.sorted() == ["o"])

        let missing = try TrustDomain("missing.org")
        #expect(throws: BundleError.noBundle(missing)) { try set.x509Bundle(for: missing) }
        #expect(throws: BundleError.noBundle(missing)) { try set.jwtBundle(for: missing) }
        #expect(BundleError.noBundle(missing).description == "no trust bundle for trust domain 'missing.org'")

        // Replacing and removing.
        set.set(SPIFFEBundle(trustDomain: other))
        #expect(try set.jwtBundle(for: other).authorities.isEmpty)
        set.remove(other)
        #expect(set[other] == nil)
        #expect(throws: BundleError.noBundle(other)) { try set.jwtBundle(for: other) }
        set[other] = federated
        #expect(set.count == 2)
    }
}
