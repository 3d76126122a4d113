import Attestation
import Crypto
import Foundation
import Lineage
import TPM
import Testing
import TestSupport

@testable import MatryoshkaCLI

/// `lineage verify` checks the hardware link offline: the first link's TPM quote (from swtpm here)
/// must be signed by the AK in the evidence and bind the server's nonce to the key that link names.
@Suite("Hardware link of a lineage", .serialized, .enabled(if: SoftwareTPM.isAvailable, "swtpm is not installed"), .timeLimit(.minutes(2)))
struct HardwareEvidenceTests {
    /// A first link for `linkKey`, carrying a quote that binds `quotedKey`.
    static func lineage(quotedKey: P256.Signing.PublicKey, linkKey: P256.Signing.PublicKey, tamper: (inout TPMNodeAttestation.Evidence) -> Void = { _ in }) async throws -> Lineage {
        try await SoftwareTPM.with { swtpm in
            let tpm = try await TPMDevice(tcti: swtpm.tcti)
            let ak = try await tpm.createAttestationKey()
            let nonce = (0..<32).map { _ in UInt8.random(in: 0...255) }
            let quote = try await tpm.quote(
                attestationKey: ak, pcrs: [0, 7],
                qualifyingData: QuoteBinding.extraData(nonce: nonce, subjectPublicKeyInfo: Array(quotedKey.derRepresentation)))
            await tpm.close()
            var evidence = TPMNodeAttestation.Evidence(
                ekHash: String(repeating: "e", count: 64), ekAcceptedBy: "allow_list", akPublic: Data(ak.publicArea.marshalled), nonce: Data(nonce),
                quote: TPMNodeAttestation.QuoteAnswer(attest: Data(quote.attest), signature: Data(quote.signature), pcrValues: quote.pcrValues))
            tamper(&evidence)
            let content = LineageLink.Content(
                spiffeID: "spiffe://example.org/agent/tpm/eee", publicKey: Array(linkKey.derRepresentation), attestor: "tpm",
                selectors: [], issuedAt: 0, expiresAt: 1, evidence: try TPMNodeAttestation.encode(evidence))
            return Lineage(links: [LineageLink(content: content, signature: [])])
        }
    }

    @Test("a quote binding the link's key verifies, and reports the EK and the quoted PCRs")
    func bindsTheLinksKey() async throws {
        let key = P256.Signing.PrivateKey().publicKey
        let hardware = try #require(try HardwareEvidence.check(try await Self.lineage(quotedKey: key, linkKey: key)))
        #expect(hardware.ekHash == String(repeating: "e", count: 64))
        #expect(Set(hardware.pcrs.keys) == ["0", "7"] && hardware.pcrDigest.count == 64)
    }

    @Test("a quote for another key (old evidence carried onto a new key) is refused")
    func anotherKeyIsRefused() async throws {
        let lineage = try await Self.lineage(quotedKey: P256.Signing.PrivateKey().publicKey, linkKey: P256.Signing.PrivateKey().publicKey)
        #expect {
            try HardwareEvidence.check(lineage)
        } throws: { error in
            (error as? CLIError)?.message.contains("does not bind spiffe://example.org/agent/tpm/eee's key") == true
        }
    }

    @Test("a quote whose signature or AK was swapped does not verify")
    func forgedQuoteIsRefused() async throws {
        let key = P256.Signing.PrivateKey().publicKey
        let lineage = try await Self.lineage(quotedKey: key, linkKey: key) { evidence in
            var attest = evidence.quote.attest
            attest[attest.count - 1] ^= 0xFF
            evidence.quote.attest = attest
        }
        #expect {
            try HardwareEvidence.check(lineage)
        } throws: { error in
            (error as? CLIError)?.message.contains("does not verify") == true
        }
    }

    @Test("links that are not TPM-attested have no hardware evidence to check")
    func otherAttestors() throws {
        let content = LineageLink.Content(spiffeID: "spiffe://example.org/agent/join_token/x", publicKey: [1], attestor: "join_token", selectors: [], issuedAt: 0, expiresAt: 1)
        #expect(try HardwareEvidence.check(Lineage(links: [LineageLink(content: content, signature: [])])) == nil)
        #expect(try HardwareEvidence.check(Lineage()) == nil)
    }
}
