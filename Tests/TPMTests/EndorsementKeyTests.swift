import TestSupport
import Crypto
import Foundation
import Testing
import X509
@testable import TPM

/// EK certificates from `swtpm_setup --create-ek-cert` and the EK allow-list.
@Suite("Endorsement key verification", .serialized, .enabled(if: SoftwareTPM.isAvailable), .timeLimit(.minutes(2)))
struct EndorsementKeyTests {
    @Test func theEKCertificateFromNVVerifiesAgainstTheSwtpmLocalCA() async throws {
        try await SoftwareTPM.with(provisioned: true) { swtpm in
            let tpm = try await TPMDevice(tcti: swtpm.tcti)
            let certificate = try #require(try await tpm.endorsementKeyCertificate())
            let ek = try await tpm.endorsementKey()
            let eccEK = try await tpm.endorsementKey(.eccP256)
            await tpm.close()

            let bundle = try SoftwareTPM.localCAFiles.map { try String(contentsOfFile: $0, encoding: .utf8) }.joined(separator: "\n")
            let verifier = try EndorsementKeyVerifier(caBundlePEM: bundle)
            let verified = try await verifier.verify(ekPublic: ek, certificate: certificate)
            #expect(verified.identity == ek.identityHex)
            guard case .certificate(let chain) = verified.method else {
                Issue.record("accepted by \(verified.method), not by certificate")
                return
            }
            #expect(chain.count >= 2)
            #expect(chain.last?.subject.description.contains("swtpm-localca") == true)

            // The certificate certifies the RSA EK, not another key the agent might claim.
            await #expect(throws: EndorsementKeyError.certificateKeyMismatch) {
                try await verifier.verify(ekPublic: eccEK, certificate: certificate)
            }
            // Another CA does not vouch for it.
            let otherCA = try selfSignedCA()
            let untrusting = EndorsementKeyVerifier(trustedRoots: [otherCA])
            do throws(EndorsementKeyError) {
                _ = try await untrusting.verify(ekPublic: ek, certificate: certificate)
                Issue.record("an EK certificate verified against an unrelated CA")
            } catch {
                guard case .certificateNotTrusted = error else {
                    Issue.record("unexpected error \(error)")
                    return
                }
            }
            // The same key in a variant public area (explicit exponent 65537) is another identity:
            // refused unless the template check is switched off.
            var variantBytes = ek.marshalled
            variantBytes.replaceSubrange(52..<56, with: [0x00, 0x01, 0x00, 0x01])
            let variant = try TPMPublicArea(marshalled: variantBytes)
            #expect(variant.identityHex != ek.identityHex)
            await #expect(throws: EndorsementKeyError.self) {
                try await verifier.verify(ekPublic: variant, certificate: certificate)
            }
            var lenient = verifier
            lenient.requireDefaultTemplate = false
            #expect(try await lenient.verify(ekPublic: variant, certificate: certificate).identity == variant.identityHex)
            // Garbage is a malformed certificate, not a crash.
            await #expect(throws: EndorsementKeyError.self) {
                try await verifier.verify(ekPublic: ek, certificate: [0x30, 0x03, 1, 2, 3])
            }
        }
    }

    @Test func theAllowListAcceptsListedEKsAndRefusesOthers() async throws {
        try await SoftwareTPM.with { swtpm in
            let tpm = try await TPMDevice(tcti: swtpm.tcti)
            let ek = try await tpm.endorsementKey()
            let ak = try await tpm.createAttestationKey()
            await tpm.close()

            let allowing = EndorsementKeyVerifier(allowedIdentities: [ek.identityHex.uppercased()])
            #expect(try await allowing.verify(ekPublic: ek, certificate: nil).method == .allowList)

            let other = String(repeating: "ab", count: 32)
            let refusing = EndorsementKeyVerifier(allowedIdentities: [other])
            await #expect(throws: EndorsementKeyError.notAllowed(
                identity: ek.identityHex, reason: "not on the allow-list and no EK certificate was presented")) {
                try await refusing.verify(ekPublic: ek, certificate: nil)
            }
            // An AK (a signing key) is never accepted as an EK, even if listed.
            let listedAK = EndorsementKeyVerifier(allowedIdentities: [ak.publicArea.identityHex])
            await #expect(throws: EndorsementKeyError.self) {
                try await listedAK.verify(ekPublic: ak.publicArea, certificate: nil)
            }
        }
    }

    @Test func anInvalidCABundleIsRefused() {
        #expect(throws: EndorsementKeyError.self) {
            try EndorsementKeyVerifier(caBundlePEM: "not a certificate")
        }
    }

    private func selfSignedCA() throws -> Certificate {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("not-the-ek-ca") }
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(3600),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil)) },
            issuerPrivateKey: .init(key))
    }
}
