import TestSupport
import Crypto
import Foundation
import Testing
import X509
import _CryptoExtras
@testable import TPM

/// Quotes from swtpm, verified and refused in software.
@Suite("Quote verification", .serialized, .enabled(if: SoftwareTPM.isAvailable), .timeLimit(.minutes(2)))
struct QuoteVerificationTests {
    static let pcrs = [0, 1, 2, 3, 7, 16]

    /// A key whose SPKI the quote binds, as the agent's SVID key would be.
    let svidKey = P256.Signing.PrivateKey()
    let nonce = randomBytes(32)

    var extraData: [UInt8] {
        QuoteBinding.extraData(nonce: nonce, subjectPublicKeyInfo: Array(svidKey.publicKey.derRepresentation))
    }

    @Test func aQuoteVerifiesAndEachForgeryIsRefusedWithItsOwnError() async throws {
        try await SoftwareTPM.with { swtpm in
            let tpm = try await TPMDevice(tcti: swtpm.tcti)
            let ak = try await tpm.createAttestationKey()
            let otherAK = try await tpm.createAttestationKey()
            let quote = try await tpm.quote(attestationKey: ak, pcrs: Self.pcrs, qualifyingData: extraData)
            await tpm.close()

            let policy = try PCRPolicy(expectedValues: quote.pcrValues.filter { [0, 7, 16].contains($0.key) })
            let verified = try QuoteVerifier.verifyQuote(
                attest: quote.attest, signature: quote.signature, akPublic: ak.publicArea,
                expectedExtraData: extraData, pcrValues: quote.pcrValues, policy: policy)
            #expect(verified.pcrSelection == [PCRSelection(hash: .sha256, indices: Self.pcrs)])
            #expect(verified.attestation.extraData == extraData)
            #expect(try QuoteBinding.extraData(nonce: nonce, agentKey: Certificate.PublicKey(svidKey.publicKey)) == extraData)

            // A wrong nonce (a replay against a fresh challenge).
            let wrongNonce = QuoteBinding.extraData(nonce: randomBytes(32), subjectPublicKeyInfo: Array(svidKey.publicKey.derRepresentation))
            #expect(throws: QuoteVerificationError.extraDataMismatch(expected: wrongNonce.hexString, got: extraData.hexString)) {
                try QuoteVerifier.verifyQuote(
                    attest: quote.attest, signature: quote.signature, akPublic: ak.publicArea,
                    expectedExtraData: wrongNonce, pcrValues: quote.pcrValues)
            }
            // Another SVID key bound.
            let otherKey = QuoteBinding.extraData(nonce: nonce, subjectPublicKeyInfo: Array(P256.Signing.PrivateKey().publicKey.derRepresentation))
            #expect(throws: QuoteVerificationError.self) {
                try QuoteVerifier.verifyQuote(
                    attest: quote.attest, signature: quote.signature, akPublic: ak.publicArea,
                    expectedExtraData: otherKey, pcrValues: quote.pcrValues)
            }
            // Signed by a different AK than the one activated.
            #expect(throws: QuoteVerificationError.badSignature) {
                try QuoteVerifier.verifyQuote(
                    attest: quote.attest, signature: quote.signature, akPublic: otherAK.publicArea,
                    expectedExtraData: extraData, pcrValues: quote.pcrValues)
            }
            // Tampered attestation: every single-byte change is caught by the signature.
            for offset in [0, 5, 20, quote.attest.count / 2, quote.attest.count - 1] {
                var tampered = quote.attest
                tampered[offset] ^= 0x01
                #expect(throws: QuoteVerificationError.badSignature) {
                    try QuoteVerifier.verifyQuote(
                        attest: tampered, signature: quote.signature, akPublic: ak.publicArea,
                        expectedExtraData: extraData, pcrValues: quote.pcrValues)
                }
            }
            // A reported PCR value that is not what the TPM quoted.
            var lied = quote.pcrValues
            lied[16] = [UInt8](repeating: 0x55, count: 32)
            #expect(throws: QuoteVerificationError.self) {
                try QuoteVerifier.verifyQuote(
                    attest: quote.attest, signature: quote.signature, akPublic: ak.publicArea,
                    expectedExtraData: extraData, pcrValues: lied)
            }
            do throws(QuoteVerificationError) {
                _ = try QuoteVerifier.verifyQuote(
                    attest: quote.attest, signature: quote.signature, akPublic: ak.publicArea,
                    expectedExtraData: extraData, pcrValues: lied)
            } catch {
                guard case .pcrDigestMismatch = error else {
                    Issue.record("expected a PCR digest mismatch, got \(error)")
                    return
                }
            }
            // A value for a PCR the quote does not cover; a quoted PCR without a value.
            var extra = quote.pcrValues
            extra[23] = [UInt8](repeating: 0, count: 32)
            #expect(throws: QuoteVerificationError.unquotedPCRValue(index: 23)) {
                try QuoteVerifier.verifyQuote(
                    attest: quote.attest, signature: quote.signature, akPublic: ak.publicArea,
                    expectedExtraData: extraData, pcrValues: extra)
            }
            var missing = quote.pcrValues
            missing[7] = nil
            #expect(throws: QuoteVerificationError.missingPCRValue(index: 7)) {
                try QuoteVerifier.verifyQuote(
                    attest: quote.attest, signature: quote.signature, akPublic: ak.publicArea,
                    expectedExtraData: extraData, pcrValues: missing)
            }
            // PCR values off policy.
            let zero = [UInt8](repeating: 0, count: 32)
            let strict = try PCRPolicy(expectedValues: [0: [UInt8](repeating: 0x11, count: 32), 16: zero])
            #expect(throws: QuoteVerificationError.policy(.mismatch(
                index: 0, expected: [UInt8](repeating: 0x11, count: 32).hexString, got: (quote.pcrValues[0] ?? []).hexString))) {
                try QuoteVerifier.verifyQuote(
                    attest: quote.attest, signature: quote.signature, akPublic: ak.publicArea,
                    expectedExtraData: extraData, pcrValues: quote.pcrValues, policy: strict)
            }
            let unquoted = try PCRPolicy(expectedValues: [23: zero])
            #expect(throws: QuoteVerificationError.policy(.notQuoted(index: 23))) {
                try QuoteVerifier.verifyQuote(
                    attest: quote.attest, signature: quote.signature, akPublic: ak.publicArea,
                    expectedExtraData: extraData, pcrValues: quote.pcrValues, policy: unquoted)
            }
            // Garbage signature bytes.
            #expect(throws: QuoteVerificationError.self) {
                try QuoteVerifier.verifyQuote(
                    attest: quote.attest, signature: Array(quote.signature.prefix(10)), akPublic: ak.publicArea,
                    expectedExtraData: extraData, pcrValues: quote.pcrValues)
            }
        }
    }

    @Test func aSoftwareSignedForgeryWithTheRightMagicIsRefusedWhenTheKeyIsNotRestricted() throws {
        // An attacker's own (unrestricted) key can sign any TPMS_ATTEST, magic included: the
        // verifier must refuse keys that are not restricted signing keys.
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let unrestricted = try TPMPublicArea(marshalled: Fixtures.rsaPublic(
            attributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .sign],
            modulus: try Fixtures.modulus(of: key)))
        let digest = Array(SHA256.hash(data: [UInt8]()))
        let attest = Fixtures.quoteAttest(extraData: extraData, pcrs: [], pcrDigest: digest)
        let signature = Fixtures.rsassaSignature(Array(try key.signature(for: SHA256.hash(data: attest), padding: .insecurePKCS1v1_5).rawRepresentation))
        #expect(throws: QuoteVerificationError.self) {
            try QuoteVerifier.verifyQuote(attest: attest, signature: signature, akPublic: unrestricted, expectedExtraData: extraData, pcrValues: [:])
        }
        // The same with a restricted key: magic and type are checked after the signature.
        let restricted = try TPMPublicArea(marshalled: Fixtures.rsaPublic(modulus: try Fixtures.modulus(of: key)))
        let wrongMagic = Fixtures.quoteAttest(magic: 0xDEAD_BEEF, extraData: extraData, pcrs: [], pcrDigest: digest)
        let wrongMagicSignature = Fixtures.rsassaSignature(Array(try key.signature(for: SHA256.hash(data: wrongMagic), padding: .insecurePKCS1v1_5).rawRepresentation))
        #expect(throws: QuoteVerificationError.notGeneratedByTPM(magic: 0xDEAD_BEEF)) {
            try QuoteVerifier.verifyQuote(attest: wrongMagic, signature: wrongMagicSignature, akPublic: restricted, expectedExtraData: extraData, pcrValues: [:])
        }
        let certify = Fixtures.quoteAttest(type: 0x8017, extraData: extraData, pcrs: [], pcrDigest: digest)
        let certifySignature = Fixtures.rsassaSignature(Array(try key.signature(for: SHA256.hash(data: certify), padding: .insecurePKCS1v1_5).rawRepresentation))
        #expect(throws: QuoteVerificationError.notAQuote(type: 0x8017)) {
            try QuoteVerifier.verifyQuote(attest: certify, signature: certifySignature, akPublic: restricted, expectedExtraData: extraData, pcrValues: [:])
        }
    }

    @Test(.enabled(if: SoftwareTPM.toolsAvailable))
    func afterAPCRExtendANewQuoteFailsTheOldPolicy() async throws {
        try await SoftwareTPM.with { swtpm in
            var tpm = try await TPMDevice(tcti: swtpm.tcti)
            let ak = try await tpm.createAttestationKey()
            let before = try await tpm.quote(attestationKey: ak, pcrs: Self.pcrs, qualifyingData: extraData)
            let policy = try PCRPolicy(expectedValues: before.pcrValues)
            _ = try QuoteVerifier.verifyQuote(
                attest: before.attest, signature: before.signature, akPublic: ak.publicArea,
                expectedExtraData: extraData, pcrValues: before.pcrValues, policy: policy)
            // swtpm serves one connection at a time: hand it to tpm2-tools, then reconnect. The AK
            // is reloaded from its public and private blobs under the recreated EK.
            await tpm.close()
            let measurement = Array(SHA256.hash(data: Array("a new kernel".utf8))).hexString
            try await swtpm.tool("tpm2_pcrextend", ["16:sha256=\(measurement)"])
            tpm = try await TPMDevice(tcti: swtpm.tcti)
            let after = try await tpm.quote(attestationKey: ak, pcrs: Self.pcrs, qualifyingData: extraData)
            await tpm.close()

            let expected16 = Array(SHA256.hash(data: [UInt8](repeating: 0, count: 32) + (decodeHex(measurement) ?? [])))
            #expect(after.pcrValues[16] == expected16)
            #expect(throws: QuoteVerificationError.policy(.mismatch(
                index: 16, expected: (before.pcrValues[16] ?? []).hexString, got: expected16.hexString))) {
                try QuoteVerifier.verifyQuote(
                    attest: after.attest, signature: after.signature, akPublic: ak.publicArea,
                    expectedExtraData: extraData, pcrValues: after.pcrValues, policy: policy)
            }
        }
    }
}
