import Authority
import Crypto
import Foundation
import Lineage
import SPIFFE
import SwiftASN1
import X509

/// Everything the micro-benchmarks measure against, built once per run with real keys: a root CA,
/// an X509-SVID with its DER, a JWT-SVID with its bundle, a CSR, and SVIDs carrying lineages
/// 1 to 8 links deep.
struct Fixtures: Sendable {
    static let trustDomainName = "example.org"
    static let spiffeIDString = "spiffe://example.org/ns/prod/sa/payments/instance/7"
    static let audience = "payments"
    static let lineageDepths = 1...8

    let trustDomain: TrustDomain
    let ca: CertificateAuthority
    let x509Bundle: X509Bundle
    let svidChain: [Certificate]
    let svidDER: [UInt8]
    let jwtBundle: JWTBundle
    let jwtToken: String
    let csrDER: [UInt8]
    let spiffeID: SPIFFEID
    /// An SVID (leaf only) whose lineage extension is `depth` links long, by depth.
    let lineageSVIDs: [Int: Certificate]
    let lineageSubjects: [Int: SPIFFEID]
    let lineageVerifier: LineageVerifier
    /// Raw ECDSA P-256 material for the baselines.
    let rawKey: P256.Signing.PrivateKey
    let rawMessage: [UInt8]
    let rawSignature: P256.Signing.ECDSASignature

    static func make() async throws -> Fixtures {
        let trustDomain = try TrustDomain(trustDomainName)
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        let spiffeID = try SPIFFEID(spiffeIDString)
        let workloadKey = try SigningKey(generating: .ecP256)
        let svidChain = try ca.issue(X509SVIDParameters(spiffeID: spiffeID, publicKey: workloadKey.publicKey, ttl: .seconds(3600)))
        guard let leaf = svidChain.first else { throw FixtureError("the CA issued an empty chain") }
        let svidDER = try DERCertificate.bytes(of: leaf)

        let jwtAuthority = try JWTAuthority.generate(trustDomain: trustDomain, notAfter: Date().addingTimeInterval(86_400))
        let jwtToken = try await jwtAuthority.sign(spiffeID: spiffeID, audience: [audience], ttl: .seconds(300))
        let jwtBundle = JWTBundle(trustDomain: trustDomain, authorities: [jwtAuthority.keyID: jwtAuthority.publicKey])

        let csrDER = try CertificateRequests.csr(for: workloadKey, spiffeID: spiffeID)

        var lineageSVIDs: [Int: Certificate] = [:]
        var lineageSubjects: [Int: SPIFFEID] = [:]
        for depth in lineageDepths {
            let (certificate, subject) = try Self.lineageSVID(depth: depth, ca: ca)
            lineageSVIDs[depth] = certificate
            lineageSubjects[depth] = subject
        }
        let bundle = SPIFFEBundle(trustDomain: trustDomain, x509Authorities: [ca.certificate])

        let rawKey = P256.Signing.PrivateKey()
        let rawMessage = Array(svidDER.prefix(256))
        let rawSignature = try rawKey.signature(for: rawMessage)
        return Fixtures(
            trustDomain: trustDomain, ca: ca, x509Bundle: X509Bundle(trustDomain: trustDomain, authorities: [ca.certificate]),
            svidChain: svidChain, svidDER: svidDER, jwtBundle: jwtBundle, jwtToken: jwtToken, csrDER: csrDER, spiffeID: spiffeID,
            lineageSVIDs: lineageSVIDs, lineageSubjects: lineageSubjects, lineageVerifier: LineageVerifier(bundle: bundle),
            rawKey: rawKey, rawMessage: rawMessage, rawSignature: rawSignature)
    }

    /// A stack `depth` layers deep (node agent first, signed by the CA; each next layer by the one
    /// before, all P-256), and the innermost layer's X509-SVID carrying the lineage extension.
    static func lineageSVID(depth: Int, ca: CertificateAuthority) throws -> (Certificate, SPIFFEID) {
        let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        var lineage = Lineage()
        var parentKey: SigningKey?
        var subject = try SPIFFEID("spiffe://\(trustDomainName)/agent/join_token/node-1")
        var subjectKey = try SigningKey(generating: .ecP256)
        for index in 0..<depth {
            if index > 0 {
                subject = try subject.appending("l\(index)")
                subjectKey = try SigningKey(generating: .ecP256)
            }
            let link: LineageLink
            if let parentKey {
                link = try LinkBuilder.child(
                    of: lineage, signedBy: parentKey.certificatePrivateKey, spiffeID: subject.description, publicKey: subjectKey.publicKey,
                    attestor: "unix", selectors: ["unix:uid:1000"], issuedAt: start, expiresAt: start.addingTimeInterval(3600 - Double(index)))
            } else {
                link = try LinkBuilder.root(
                    spiffeID: subject.description, publicKey: subjectKey.publicKey, attestor: "join_token", selectors: ["join_token:abc"],
                    issuedAt: start, expiresAt: start.addingTimeInterval(3600), evidence: [], signedBy: ca.key.certificatePrivateKey)
            }
            lineage = try lineage.appending(link)
            parentKey = subjectKey
        }
        let parameters = X509SVIDParameters(
            spiffeID: subject, publicKey: subjectKey.publicKey, ttl: .seconds(3000),
            extraExtensions: [try LineageExtension.make(lineage)])
        guard let leaf = try ca.issue(parameters).first else { throw FixtureError("the CA issued an empty chain") }
        return (leaf, subject)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum DERCertificate {
    static func bytes(of certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }
}
