import Authority
import Crypto
import Foundation
import SPIFFE
import Testing
import X509

@Suite("X509-SVID verification")
struct X509SVIDVerifierTests {
    let trustDomain: TrustDomain
    let id: SPIFFEID
    let now = Date()

    init() throws {
        trustDomain = try TrustDomain("example.org")
        id = try SPIFFEID(TestCertificates.defaultID)
    }

    func verify(_ chain: [Certificate], roots: [Certificate], at time: Date? = nil) async throws(X509SVIDError) -> VerifiedX509SVID {
        try await X509SVIDVerifier(bundles: X509Bundle(trustDomain: trustDomain, authorities: roots), validationTime: time ?? now)
            .verify(chain)
    }

    // MARK: Certificates made by our CA

    @Test func leafIssuedByOurRootVerifies() async throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        let key = TestCertificates.newKey()
        let chain = try ca.issue(X509SVIDParameters(spiffeID: id, publicKey: key.publicKey))
        #expect(chain.count == 1)
        let verified = try await verify(chain, roots: [ca.certificate])
        #expect(verified.spiffeID == id)
        #expect(verified.chain == [chain[0], ca.certificate])
        #expect(verified.leaf == chain[0])
        #expect(verified.expiry == chain[0].notValidAfter)
        // With the current time (no fixed validation time) too.
        let live = try await X509SVIDVerifier(bundles: X509Bundle(trustDomain: trustDomain, authorities: [ca.certificate])).verify(chain)
        #expect(live.spiffeID == id)
    }

    @Test(arguments: KeyAlgorithm.allCases)
    func leafIssuedByEveryKindOfRootVerifies(_ algorithm: KeyAlgorithm) async throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain, keyAlgorithm: algorithm)
        let chain = try ca.issue(X509SVIDParameters(spiffeID: id, publicKey: try SigningKey(generating: algorithm).publicKey))
        #expect(try await verify(chain, roots: [ca.certificate]).spiffeID == id)
    }

    @Test func leafOutlivingTheCAIsClampedAndVerifies() async throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain, ttl: .seconds(600), now: now)
        let chain = try ca.issue(X509SVIDParameters(spiffeID: id, publicKey: TestCertificates.newKey().publicKey, ttl: .seconds(86400)), now: now)
        #expect(chain[0].notValidAfter == ca.certificate.notValidAfter)
        #expect(try await verify(chain, roots: [ca.certificate]).expiry == ca.certificate.notValidAfter)
        // Once the CA is gone, the leaf is expired too.
        await #expect(throws: X509SVIDError.expired(notAfter: chain[0].notValidAfter)) {
            try await verify(chain, roots: [ca.certificate], at: now.addingTimeInterval(601))
        }
    }

    @Test func intermediateChainVerifies() async throws {
        let root = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        let intermediate = try root.createIntermediate(ttl: .seconds(7200))
        let chain = try intermediate.issue(X509SVIDParameters(spiffeID: id, publicKey: TestCertificates.newKey().publicKey))
        #expect(chain.count == 2)
        #expect(chain[1] == intermediate.certificate)
        let verified = try await verify(chain, roots: [root.certificate])
        #expect(verified.chain == [chain[0], intermediate.certificate, root.certificate])
        // Without the intermediate the path cannot be built.
        await #expect(throws: X509SVIDError.untrusted(trustDomain: trustDomain)) { try await verify([chain[0]], roots: [root.certificate]) }
        // Two levels of intermediates.
        let second = try intermediate.createIntermediate(ttl: .seconds(3600))
        let deeper = try second.issue(X509SVIDParameters(spiffeID: id, publicKey: TestCertificates.newKey().publicKey))
        #expect(deeper.count == 3)
        #expect(try await verify(deeper, roots: [root.certificate]).chain.count == 4)
    }

    @Test func federatedBundleSetPicksTheLeafsTrustDomain() async throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        let otherDomain = try TrustDomain("other.org")
        let other = try CertificateAuthority.createRoot(trustDomain: otherDomain)
        let chain = try ca.issue(X509SVIDParameters(spiffeID: id, publicKey: TestCertificates.newKey().publicKey))
        let set = BundleSet([
            SPIFFEBundle(trustDomain: trustDomain, x509Authorities: [ca.certificate]),
            SPIFFEBundle(trustDomain: otherDomain, x509Authorities: [other.certificate]),
        ])
        #expect(try await X509SVIDVerifier(bundles: set).verify(chain).spiffeID == id)
        // The other domain's authority cannot vouch for example.org.
        let wrong = BundleSet([SPIFFEBundle(trustDomain: trustDomain, x509Authorities: [other.certificate])])
        await #expect(throws: X509SVIDError.untrusted(trustDomain: trustDomain)) { try await X509SVIDVerifier(bundles: wrong).verify(chain) }
    }

    // MARK: Hand-built malformed certificates

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let expected: X509SVIDError
        let rule: String
        var testDescription: String { name }
    }

    /// Each case breaks one rule on a leaf signed by a valid root.
    static let leafCases: [(Case, @Sendable (TestCertificates.Issuer) throws -> Certificate)] = [
        (Case(name: "no URI SAN", expected: .noURISAN, rule: "no URI SAN"), { try TestCertificates.leaf(issuer: $0, uris: []) }),
        (Case(name: "two URI SANs", expected: .multipleURISANs(count: 2), rule: "2 URI SANs"),
         { try TestCertificates.leaf(issuer: $0, uris: [TestCertificates.defaultID, "spiffe://example.org/other"]) }),
        (Case(name: "non-SPIFFE URI", expected: .invalidSPIFFEID(uri: "https://example.org/workload", reason: .wrongScheme(found: "https")),
              rule: "not a valid SPIFFE ID"),
         { try TestCertificates.leaf(issuer: $0, uris: ["https://example.org/workload"]) }),
        (Case(name: "URI SAN with a port", expected: .invalidSPIFFEID(uri: "spiffe://example.org:443/w", reason: .portNotAllowed),
              rule: "port"),
         { try TestCertificates.leaf(issuer: $0, uris: ["spiffe://example.org:443/w"]) }),
        (Case(name: "leaf cA=true", expected: .leafIsCA, rule: "cA=false"),
         { try TestCertificates.leaf(issuer: $0, basicConstraints: .isCertificateAuthority(maxPathLength: nil)) }),
        (Case(name: "no keyUsage", expected: .missingKeyUsage, rule: "no keyUsage"),
         { try TestCertificates.leaf(issuer: $0, keyUsage: nil) }),
        (Case(name: "no digitalSignature", expected: .leafMissingDigitalSignature, rule: "lacks digitalSignature"),
         { try TestCertificates.leaf(issuer: $0, keyUsage: KeyUsage(keyEncipherment: true)) }),
        (Case(name: "keyCertSign on leaf", expected: .leafHasKeyCertSign, rule: "keyCertSign"),
         { try TestCertificates.leaf(issuer: $0, keyUsage: KeyUsage(digitalSignature: true, keyCertSign: true)) }),
        (Case(name: "cRLSign on leaf", expected: .leafHasCRLSign, rule: "cRLSign"),
         { try TestCertificates.leaf(issuer: $0, keyUsage: KeyUsage(digitalSignature: true, cRLSign: true)) }),
    ]

    @Test("refuses a leaf that breaks a leaf rule", arguments: leafCases)
    func refusesMalformedLeaf(_ testCase: Case, _ make: @Sendable (TestCertificates.Issuer) throws -> Certificate) async throws {
        let root = try TestCertificates.authority()
        let leaf = try make(root)
        let error = await #expect(throws: X509SVIDError.self) { try await verify([leaf], roots: [root.certificate]) }
        #expect(error == testCase.expected)
        #expect(error?.description.contains(testCase.rule) == true, "\(error?.description ?? "") should mention \(testCase.rule)")
        // X509SVID(certificates:) applies the same leaf rules.
        #expect(throws: testCase.expected) { try X509SVID(certificates: [leaf]) }
    }

    @Test func handBuiltValidLeafVerifies() async throws {
        let root = try TestCertificates.authority()
        let leaf = try TestCertificates.leaf(issuer: root)
        #expect(try await verify([leaf], roots: [root.certificate]).spiffeID == id)
    }

    @Test func expiredLeafIsRefused() async throws {
        let root = try TestCertificates.authority()
        let notAfter = now.addingTimeInterval(-60)
        let leaf = try TestCertificates.leaf(issuer: root, notBefore: now.addingTimeInterval(-3600), notAfter: notAfter)
        let error = await #expect(throws: X509SVIDError.self) { try await verify([leaf], roots: [root.certificate]) }
        #expect(error == .expired(notAfter: leaf.notValidAfter))
        #expect(error?.description.contains("expired at") == true)
    }

    @Test func notYetValidLeafIsRefused() async throws {
        let root = try TestCertificates.authority()
        let leaf = try TestCertificates.leaf(issuer: root, notBefore: now.addingTimeInterval(600), notAfter: now.addingTimeInterval(3600))
        let error = await #expect(throws: X509SVIDError.self) { try await verify([leaf], roots: [root.certificate]) }
        #expect(error == .notYetValid(notBefore: leaf.notValidBefore))
        #expect(error?.description.contains("not valid before") == true)
    }

    @Test func expiredCAIsRefused() async throws {
        let root = try TestCertificates.authority(notBefore: now.addingTimeInterval(-86400), notAfter: now.addingTimeInterval(-60))
        let leaf = try TestCertificates.leaf(issuer: root)
        let error = await #expect(throws: X509SVIDError.self) { try await verify([leaf], roots: [root.certificate]) }
        #expect(error == .caExpired(subject: "CN=Test Root", notAfter: root.certificate.notValidAfter))
        #expect(error?.description.contains("CA certificate 'CN=Test Root' expired") == true)
    }

    @Test func expiredIntermediateIsRefused() async throws {
        let root = try TestCertificates.authority()
        let intermediate = try TestCertificates.authority(
            "Old Intermediate", issuer: root, notBefore: now.addingTimeInterval(-7200), notAfter: now.addingTimeInterval(-60))
        let leaf = try TestCertificates.leaf(issuer: intermediate)
        await #expect(throws: X509SVIDError.caExpired(subject: "CN=Old Intermediate", notAfter: intermediate.certificate.notValidAfter)) {
            try await verify([leaf, intermediate.certificate], roots: [root.certificate])
        }
    }

    @Test func notYetValidCAIsRefused() async throws {
        let root = try TestCertificates.authority(notBefore: now.addingTimeInterval(600), notAfter: now.addingTimeInterval(86400))
        let leaf = try TestCertificates.leaf(issuer: root)
        let error = await #expect(throws: X509SVIDError.self) { try await verify([leaf], roots: [root.certificate]) }
        #expect(error == .caNotYetValid(subject: "CN=Test Root", notBefore: root.certificate.notValidBefore))
    }

    @Test func intermediateThatIsNotACAIsRefused() async throws {
        let root = try TestCertificates.authority()
        let intermediate = try TestCertificates.authority("Fake Intermediate", issuer: root, isCA: false)
        let leaf = try TestCertificates.leaf(issuer: intermediate)
        let error = await #expect(throws: X509SVIDError.self) { try await verify([leaf, intermediate.certificate], roots: [root.certificate]) }
        #expect(error == .signingCertificateNotCA(subject: "CN=Fake Intermediate"))
        #expect(error?.description.contains("is not a CA") == true)
    }

    @Test func intermediateWithoutKeyCertSignIsRefused() async throws {
        let root = try TestCertificates.authority()
        let intermediate = try TestCertificates.authority("Weak Intermediate", issuer: root, keyUsage: KeyUsage(digitalSignature: true, cRLSign: true))
        let leaf = try TestCertificates.leaf(issuer: intermediate)
        let error = await #expect(throws: X509SVIDError.self) { try await verify([leaf, intermediate.certificate], roots: [root.certificate]) }
        #expect(error == .signingCertificateMissingKeyCertSign(subject: "CN=Weak Intermediate"))
        #expect(error?.description.contains("lacks keyCertSign") == true)
    }

    @Test func intermediateWithoutKeyUsageIsRefused() async throws {
        let root = try TestCertificates.authority()
        let intermediate = try TestCertificates.authority("Bare Intermediate", issuer: root, keyUsage: nil)
        let leaf = try TestCertificates.leaf(issuer: intermediate)
        await #expect(throws: X509SVIDError.signingCertificateMissingKeyCertSign(subject: "CN=Bare Intermediate")) {
            try await verify([leaf, intermediate.certificate], roots: [root.certificate])
        }
    }

    @Test func rootThatIsNotACAIsRefused() async throws {
        // A bundle "authority" without cA=true must not vouch for anything.
        let root = try TestCertificates.authority("Not A CA Root", isCA: false)
        let leaf = try TestCertificates.leaf(issuer: root)
        let error = await #expect(throws: X509SVIDError.self) { try await verify([leaf], roots: [root.certificate]) }
        guard case .chainPolicyFailure(let reason)? = error else {
            Issue.record("expected chainPolicyFailure, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("'CN=Not A CA Root' is not marked as a CA"))
    }

    @Test func bundleOfAnotherTrustDomainIsRefused() async throws {
        let root = try TestCertificates.authority(trustDomain: "other.org")
        let leaf = try TestCertificates.leaf(issuer: root)
        let otherDomain = try TrustDomain("other.org")
        let verifier = X509SVIDVerifier(bundles: X509Bundle(trustDomain: otherDomain, authorities: [root.certificate]), validationTime: now)
        let error = await #expect(throws: X509SVIDError.self) { try await verifier.verify([leaf]) }
        #expect(error == .noBundle(.noBundle(trustDomain)))
        #expect(error?.description == "no trust bundle for trust domain 'example.org'")
    }

    @Test func unknownIssuerIsRefused() async throws {
        let root = try TestCertificates.authority()
        let impostor = try TestCertificates.authority()  // same name, different key
        let leaf = try TestCertificates.leaf(issuer: impostor)
        let error = await #expect(throws: X509SVIDError.self) { try await verify([leaf], roots: [root.certificate]) }
        #expect(error == .untrusted(trustDomain: trustDomain))
        #expect(error?.description.contains("does not chain to an authority") == true)
        // An issuer with a different name.
        let stranger = try TestCertificates.authority("Stranger")
        await #expect(throws: X509SVIDError.untrusted(trustDomain: trustDomain)) {
            try await verify([try TestCertificates.leaf(issuer: stranger)], roots: [root.certificate])
        }
    }

    @Test func tamperedSignatureIsRefused() async throws {
        let root = try TestCertificates.authority()
        let leaf = try TestCertificates.tampered(try TestCertificates.leaf(issuer: root))
        await #expect(throws: X509SVIDError.untrusted(trustDomain: trustDomain)) { try await verify([leaf], roots: [root.certificate]) }
    }

    @Test func tamperedIntermediateIsRefused() async throws {
        let root = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        let intermediate = try root.createIntermediate(ttl: .seconds(3600))
        let chain = try intermediate.issue(X509SVIDParameters(spiffeID: id, publicKey: TestCertificates.newKey().publicKey))
        let tampered = [chain[0], try TestCertificates.tampered(chain[1])]
        await #expect(throws: X509SVIDError.untrusted(trustDomain: trustDomain)) { try await verify(tampered, roots: [root.certificate]) }
    }

    @Test func leafInTheBundleIsRefused() async throws {
        let root = try TestCertificates.authority()
        let leaf = try TestCertificates.leaf(issuer: root)
        let error = await #expect(throws: X509SVIDError.self) { try await verify([leaf], roots: [root.certificate, leaf]) }
        #expect(error == .leafIsTrustAnchor)
        #expect(error?.description.contains("itself in the trust bundle") == true)
    }

    @Test func emptyChainIsRefused() async throws {
        await #expect(throws: X509SVIDError.emptyChain) { try await verify([], roots: []) }
    }

    @Test func criticalUnknownExtensionIsRefused() async throws {
        let root = try TestCertificates.authority()
        let key = TestCertificates.newKey()
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            SubjectAlternativeNames([.uniformResourceIdentifier(TestCertificates.defaultID)])
            Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 55555, 1], critical: true, value: [0x05, 0x00])
        }
        let leaf = try TestCertificates.make(
            subject: try TestCertificates.name("leaf"), publicKey: key.publicKey, issuer: root, selfKey: key,
            notBefore: now.addingTimeInterval(-60), notAfter: now.addingTimeInterval(3600), extensions: extensions)
        let error = await #expect(throws: X509SVIDError.self) { try await verify([leaf], roots: [root.certificate]) }
        guard case .chainPolicyFailure(let reason)? = error else {
            Issue.record("expected chainPolicyFailure, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("'CN=leaf' has critical extension 1.3.6.1.4.1.55555.1"))
        #expect(!reason.contains("Certificate(version"), "the reason should name subjects, not dump certificates: \(reason)")
    }

    @Test func nonCriticalUnknownExtensionIsIgnored() async throws {
        // Lineage rides in a non-critical extension that plain SPIFFE verifiers must ignore.
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        let lineage = Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 55555, 2], critical: false, value: [0x04, 0x01, 0x00])
        let chain = try ca.issue(X509SVIDParameters(spiffeID: id, publicKey: TestCertificates.newKey().publicKey, extraExtensions: [lineage]))
        #expect(try await verify(chain, roots: [ca.certificate]).spiffeID == id)
    }
}
