import Authority
import Crypto
import Foundation
import SPIFFE
import SwiftASN1
import Testing
import X509

@Suite("Certificate authority: issuing X509-SVIDs")
struct IssuanceTests {
    let now = TestValues.wholeSeconds()
    let ca: CertificateAuthority

    init() throws {
        ca = try CertificateAuthority.createRoot(trustDomain: TestValues.trustDomain, ttl: .seconds(86400), now: now)
    }

    static let lineageOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 55555, 1]

    @Test("leaf has the X509-SVID shape", arguments: [KeyAlgorithm.ecP256, .rsa2048])
    func leafShape(_ algorithm: KeyAlgorithm) throws {
        let subjectKey = try SigningKey(generating: algorithm)
        let extra = Certificate.Extension(oid: Self.lineageOID, critical: false, value: [0x04, 0x03, 0x01, 0x02, 0x03])
        let chain = try ca.issue(
            X509SVIDParameters(
                spiffeID: TestValues.workload, publicKey: subjectKey.publicKey, ttl: .seconds(600),
                dnsNames: ["web.example.org", "*.internal.example.org"], extraExtensions: [extra]),
            now: now)
        #expect(chain.count == 1)  // a root CA adds nothing: its certificate is in the bundle
        let leaf = chain[0]
        #expect(leaf.publicKey == subjectKey.publicKey)
        #expect(leaf.issuer == ca.certificate.subject)
        #expect(ca.certificate.publicKey.isValidSignature(leaf.signature, for: leaf))
        // Exactly one URI SAN: the SPIFFE ID; DNS names follow.
        #expect(try leaf.uriSANs == ["spiffe://example.org/workload"])
        #expect(try leaf.dnsSANs == ["web.example.org", "*.internal.example.org"])
        #expect(leaf.subject.description.contains("CN=web.example.org"))
        // cA=false, critical.
        #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
        #expect(leaf.isCritical(.X509ExtensionID.basicConstraints) == true)
        // keyUsage digitalSignature, critical, and never keyCertSign or cRLSign.
        let keyUsage = try #require(try leaf.extensions.keyUsage)
        #expect(keyUsage.digitalSignature)
        #expect(!keyUsage.keyCertSign)
        #expect(!keyUsage.cRLSign)
        #expect(leaf.isCritical(.X509ExtensionID.keyUsage) == true)
        #expect(try leaf.extensions.extendedKeyUsage?.contains(.serverAuth) == true)
        #expect(try leaf.extensions.extendedKeyUsage?.contains(.clientAuth) == true)
        #expect(try leaf.extensions.authorityKeyIdentifier?.keyIdentifier == (try ca.certificate.extensions.subjectKeyIdentifier?.keyIdentifier))
        // The extra extension rides along unchanged.
        #expect(leaf.extensions[oid: Self.lineageOID] == extra)
        // TTL respected, back-dated for skew.
        #expect(leaf.notValidAfter == now.addingTimeInterval(600))
        #expect(leaf.notValidBefore == now.addingTimeInterval(-CertificateAuthority.backdate))
        // SPIFFE's own checks agree.
        #expect(try X509SVID(certificates: chain).spiffeID == TestValues.workload)
        // Serial numbers: positive, 16 bytes, distinct.
        let other = try ca.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: subjectKey.publicKey), now: now)[0]
        #expect(leaf.serialNumber != other.serialNumber)
        #expect(leaf.serialNumber.bytes.count == 16)
        #expect(leaf.serialNumber.bytes[0] & 0x80 == 0)
    }

    @Test func ttlIsClampedToTheCAsExpiry() throws {
        let chain = try ca.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey(), ttl: .seconds(3 * 86400)), now: now)
        #expect(chain[0].notValidAfter == ca.certificate.notValidAfter)
        // notBefore never precedes the CA's.
        let early = try ca.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey()), now: ca.certificate.notValidBefore)
        #expect(early[0].notValidBefore == ca.certificate.notValidBefore)
    }

    @Test func defaultTTLIsOneHour() throws {
        let leaf = try ca.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey()), now: now)[0]
        #expect(leaf.notValidAfter == now.addingTimeInterval(3600))
    }

    @Test func refusesAnotherTrustDomain() throws {
        let stranger = try SPIFFEID("spiffe://other.org/workload")
        let error = #expect(throws: AuthorityError.self) {
            try ca.issue(X509SVIDParameters(spiffeID: stranger, publicKey: TestValues.newPublicKey()), now: now)
        }
        #expect(error == .trustDomainMismatch(expected: TestValues.trustDomain, found: stranger.trustDomain))
        #expect(error?.description == "SPIFFE ID is in trust domain 'other.org', this CA signs for 'example.org'")
    }

    @Test("refuses non-positive TTLs", arguments: [Duration.zero, .seconds(-1), .milliseconds(-1)])
    func refusesNonPositiveTTL(_ ttl: Duration) {
        #expect(throws: AuthorityError.invalidTTL("must be positive")) {
            try ca.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey(), ttl: ttl), now: now)
        }
    }

    @Test func refusesOnceTheCAHasExpired() throws {
        let later = ca.certificate.notValidAfter.addingTimeInterval(1)
        let error = #expect(throws: AuthorityError.self) {
            try ca.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey()), now: later)
        }
        #expect(error == .caExpired(notAfter: ca.certificate.notValidAfter))
        #expect(error?.description.contains("the CA expired at") == true)
    }

    static let invalidDNSNames = [
        "", "-leading.example.org", "trailing-.example.org", "a..b", ".example.org", "example.org.",
        "under_score.example.org", "sp ace.example.org", "*.*.example.org", "ex*mple.org", "café.example.org",
        String(repeating: "a", count: 64) + ".example.org",
        Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: "."),  // 255 bytes > 253
        "*",
    ]

    @Test("refuses invalid DNS names", arguments: invalidDNSNames)
    func refusesInvalidDNSName(_ name: String) {
        #expect(throws: AuthorityError.invalidDNSName(name)) {
            try ca.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey(), dnsNames: ["ok.example.org", name]), now: now)
        }
    }

    @Test("accepts valid DNS names", arguments: [
        "localhost", "web.example.org", "*.example.org", "xn--caf-dma.example", "A-1.Example.ORG", "1.2.3.4",
        String(repeating: "a", count: 63) + ".example.org",
    ])
    func acceptsValidDNSName(_ name: String) throws {
        let leaf = try ca.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey(), dnsNames: [name]), now: now)[0]
        #expect(try leaf.dnsSANs == [name])
    }

    @Test func refusesAnExtraExtensionThatDuplicatesOneTheCASets() throws {
        let san = try Certificate.Extension(SubjectAlternativeNames([.uniformResourceIdentifier("spiffe://example.org/admin")]), critical: false)
        let error = #expect(throws: AuthorityError.self) {
            try ca.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey(), extraExtensions: [san]), now: now)
        }
        guard case .signing(let reason)? = error else {
            Issue.record("expected a signing error, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("duplicates one the CA sets"))
    }
}
