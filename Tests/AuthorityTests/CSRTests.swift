import Authority
import Crypto
import Foundation
import SPIFFE
import SwiftASN1
import Testing
import X509
import _CryptoExtras

@Suite("Certificate authority: issuing from CSRs")
struct CSRTests {
    static func csr(
        key: Certificate.PrivateKey, uris: [String] = [], signatureAlgorithm: Certificate.SignatureAlgorithm = .ecdsaWithSHA256
    ) throws -> CertificateSigningRequest {
        var attributes = CertificateSigningRequest.Attributes()
        if !uris.isEmpty {
            let extensions = try Certificate.Extensions { SubjectAlternativeNames(uris.map { GeneralName.uniformResourceIdentifier($0) }) }
            attributes = CertificateSigningRequest.Attributes([try CertificateSigningRequest.Attribute(ExtensionRequest(extensions: extensions))])
        }
        return try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName("workload") }, privateKey: key,
            attributes: attributes, signatureAlgorithm: signatureAlgorithm)
    }

    static func der(_ csr: CertificateSigningRequest) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        return serializer.serializedBytes
    }

    @Test("a valid CSR is accepted and its key used", arguments: ["none", "matching URI"])
    func acceptsValidCSR(_ variant: String) throws {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let csr = try Self.csr(key: key, uris: variant == "none" ? [] : [TestValues.workload.description])
        let parameters = try X509SVIDParameters(spiffeID: TestValues.workload, csrDER: try Self.der(csr), ttl: .seconds(60), dnsNames: ["a.example"])
        #expect(parameters.publicKey == key.publicKey)
        #expect(parameters.spiffeID == TestValues.workload)
        #expect(parameters.ttl == .seconds(60))
        #expect(parameters.dnsNames == ["a.example"])

        let ca = try CertificateAuthority.createRoot(trustDomain: TestValues.trustDomain)
        let leaf = try ca.issue(parameters)[0]
        #expect(leaf.publicKey == key.publicKey)
        #expect(try X509SVID(certificates: [leaf], privateKey: key).spiffeID == TestValues.workload)
    }

    @Test func rsaCSRIsAccepted() throws {
        let key = Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits2048))
        let csr = try Self.csr(key: key, signatureAlgorithm: .sha256WithRSAEncryption)
        #expect(try X509SVIDParameters(spiffeID: TestValues.workload, csrDER: try Self.der(csr)).publicKey == key.publicKey)
    }

    @Test func csrWithABadSignatureIsRefused() throws {
        // The request names one key but is signed by another: no proof of possession.
        let signed = try Self.csr(key: Certificate.PrivateKey(P256.Signing.PrivateKey()))
        let forged = try CertificateSigningRequest(
            version: .v1, subject: signed.subject, publicKey: TestValues.newPublicKey(), attributes: signed.attributes,
            signatureAlgorithm: signed.signatureAlgorithm, signature: signed.signature)
        let error = #expect(throws: AuthorityError.self) { try X509SVIDParameters(spiffeID: TestValues.workload, csrDER: try Self.der(forged)) }
        #expect(error == .csrSignatureInvalid)
        #expect(error?.description.contains("proof of possession failed") == true)

        // A flipped bit in the signature.
        var der = try Self.der(signed)
        der[der.count - 1] ^= 0x01
        #expect(throws: AuthorityError.csrSignatureInvalid) { try X509SVIDParameters(spiffeID: TestValues.workload, csrDER: der) }
    }

    @Test func csrNamingAnotherIDIsRefused() throws {
        let csr = try Self.csr(key: Certificate.PrivateKey(P256.Signing.PrivateKey()), uris: ["spiffe://example.org/admin"])
        let error = #expect(throws: AuthorityError.self) { try X509SVIDParameters(spiffeID: TestValues.workload, csrDER: try Self.der(csr)) }
        #expect(error == .csrIdentityMismatch(requested: "spiffe://example.org/workload", csr: "spiffe://example.org/admin"))
        #expect(error?.description == "certificate signing request names spiffe://example.org/admin but spiffe://example.org/workload was requested")
    }

    @Test func malformedCSRsAreRefused() throws {
        #expect(throws: AuthorityError.invalidCSR("empty")) { try X509SVIDParameters(spiffeID: TestValues.workload, csrDER: []) }
        #expect(throws: AuthorityError.invalidCSR("65537 bytes; the limit is 65536")) {
            try X509SVIDParameters(spiffeID: TestValues.workload, csrDER: [UInt8](repeating: 0x30, count: 65537))
        }
        let error = #expect(throws: AuthorityError.self) {
            try X509SVIDParameters(spiffeID: TestValues.workload, csrDER: [0x30, 0x03, 0x02, 0x01, 0x00])
        }
        guard case .invalidCSR? = error else {
            Issue.record("expected invalidCSR, got \(String(describing: error))")
            return
        }
        // Truncated.
        let der = try Self.der(try Self.csr(key: Certificate.PrivateKey(P256.Signing.PrivateKey())))
        let truncated = #expect(throws: AuthorityError.self) {
            try X509SVIDParameters(spiffeID: TestValues.workload, csrDER: Array(der.prefix(der.count / 2)))
        }
        guard case .invalidCSR? = truncated else {
            Issue.record("expected invalidCSR, got \(String(describing: truncated))")
            return
        }
    }
}
