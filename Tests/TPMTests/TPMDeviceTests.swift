import TestSupport
import Crypto
import Foundation
import Testing
@testable import TPM

/// The agent side against swtpm, checked by the server side in software.
@Suite("TPM device against swtpm", .serialized, .enabled(if: SoftwareTPM.isAvailable), .timeLimit(.minutes(2)))
struct TPMDeviceTests {
    @Test func credentialActivationReturnsTheServersSecret() async throws {
        try await SoftwareTPM.with { swtpm in
            let tpm = try await TPMDevice(tcti: swtpm.tcti)
            let ek = try await tpm.endorsementKey()
            #expect(EndorsementKeyTemplate.match(ek) == .success(.rsa2048))
            let ak = try await tpm.createAttestationKey()
            try AttestationKeyPolicy.check(ak.publicArea)

            let secret = randomBytes(32)
            let challenge = try CredentialActivation.makeCredential(ekPublic: ek, objectName: ak.name, secret: secret)
            #expect(try await tpm.activateCredential(attestationKey: ak, challenge: challenge) == secret)
            // The same EK comes back on every CreatePrimary: the identity is stable.
            #expect(try await tpm.endorsementKey().identityHex == ek.identityHex)
            await tpm.close()
        }
    }

    @Test func aCredentialForAnotherAKDoesNotActivate() async throws {
        try await SoftwareTPM.with { swtpm in
            let tpm = try await TPMDevice(tcti: swtpm.tcti)
            let ek = try await tpm.endorsementKey()
            let ak = try await tpm.createAttestationKey()
            let other = try await tpm.createAttestationKey()
            #expect(ak.name != other.name)
            let challenge = try CredentialActivation.makeCredential(ekPublic: ek, objectName: other.name, secret: randomBytes(32))
            do throws(TPMDeviceError) {
                _ = try await tpm.activateCredential(attestationKey: ak, challenge: challenge)
                Issue.record("a credential for another AK activated")
            } catch {
                guard case .commandFailed(let command, let code, let decoded) = error else {
                    Issue.record("unexpected error \(error)")
                    return
                }
                #expect(command == "Esys_ActivateCredential")
                #expect(code & 0xBF == 0x9F)  // TPM_RC_INTEGRITY (format 1, with or without a parameter number)
                #expect(decoded.contains("integrity"))
            }
            // The right AK still works afterwards (nothing leaked).
            let good = try CredentialActivation.makeCredential(ekPublic: ek, objectName: other.name, secret: [42])
            #expect(try await tpm.activateCredential(attestationKey: other, challenge: good) == [42])
            await tpm.close()
        }
    }

    @Test func eccEndorsementAndAttestationKeysWork() async throws {
        try await SoftwareTPM.with { swtpm in
            let tpm = try await TPMDevice(tcti: swtpm.tcti)
            let ek = try await tpm.endorsementKey(.eccP256)
            #expect(EndorsementKeyTemplate.match(ek) == .success(.eccP256))
            let ak = try await tpm.createAttestationKey(.eccP256, endorsementKey: .eccP256)
            try AttestationKeyPolicy.check(ak.publicArea)
            let secret = randomBytes(32)
            let challenge = try CredentialActivation.makeCredential(ekPublic: ek, objectName: ak.name, secret: secret)
            #expect(try await tpm.activateCredential(attestationKey: ak, challenge: challenge) == secret)

            let extraData = QuoteBinding.extraData(nonce: randomBytes(32), subjectPublicKeyInfo: [1, 2, 3])
            let quote = try await tpm.quote(attestationKey: ak, pcrs: [0, 7], qualifyingData: extraData)
            #expect(try TPMSignature(marshalled: quote.signature).algorithm == .ecdsa)
            _ = try QuoteVerifier.verifyQuote(
                attest: quote.attest, signature: quote.signature, akPublic: ak.publicArea,
                expectedExtraData: extraData, pcrValues: quote.pcrValues)
            await tpm.close()
        }
    }

    @Test func unprovisionedTPMHasNoEKCertificateAndArgumentsAreChecked() async throws {
        try await SoftwareTPM.with { swtpm in
            let tpm = try await TPMDevice(tcti: swtpm.tcti)
            #expect(try await tpm.endorsementKeyCertificate() == nil)
            #expect(try await tpm.randomBytes(100).count == 100)
            let values = try await tpm.readPCRs(Array(0...23))
            #expect(values.count == 24)
            #expect(values[16] == [UInt8](repeating: 0, count: 32))
            let ak = try await tpm.createAttestationKey()
            await #expect(throws: TPMDeviceError.self) {
                try await tpm.quote(attestationKey: ak, pcrs: [24], qualifyingData: [])
            }
            await #expect(throws: TPMDeviceError.self) {
                try await tpm.quote(attestationKey: ak, pcrs: [0], qualifyingData: [UInt8](repeating: 0, count: 65))
            }
            await tpm.close()
            await #expect(throws: TPMDeviceError.closed) {
                try await tpm.endorsementKey()
            }
        }
    }

    @Test(.enabled(if: SoftwareTPM.toolsAvailable))
    func manyKeysAndSessionsFitAndNothingIsLeftLoaded() async throws {
        try await SoftwareTPM.with { swtpm in
            let tpm = try await TPMDevice(tcti: swtpm.tcti)
            let ek = try await tpm.endorsementKey()
            var keys: [TPMAttestationKey] = []
            for _ in 0..<4 {
                keys.append(try await tpm.createAttestationKey())
            }
            // Alternate between AKs (each use reloads it) and between EK types.
            for (round, key) in (keys + keys.reversed()).enumerated() {
                let quote = try await tpm.quote(attestationKey: key, pcrs: [0], qualifyingData: [UInt8(round)])
                _ = try QuoteVerifier.verifyQuote(
                    attest: quote.attest, signature: quote.signature, akPublic: key.publicArea,
                    expectedExtraData: [UInt8(round)], pcrValues: quote.pcrValues)
                if round == 3 {
                    _ = try await tpm.endorsementKey(.eccP256)
                }
            }
            let challenge = try CredentialActivation.makeCredential(ekPublic: ek, objectName: keys[0].name, secret: [7])
            #expect(try await tpm.activateCredential(attestationKey: keys[0], challenge: challenge) == [7])
            await tpm.close()
            // No resource manager: anything not flushed would still be in the TPM.
            #expect(try await swtpm.tool("tpm2_getcap", ["handles-transient"]).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
            #expect(try await swtpm.tool("tpm2_getcap", ["handles-loaded-session"]).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
            #expect(try await swtpm.tool("tpm2_getcap", ["handles-saved-session"]).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        }
    }

    @Test func aBadTCTIIsADescriptiveError() async throws {
        do {
            _ = try await TPMDevice(tcti: "swtpm:host=127.0.0.1,port=1")
            Issue.record("opened a TPM on port 1")
        } catch {
            #expect(error.description.contains("Tss2_TctiLdr_Initialize") || error.description.contains("Esys_Initialize"))
        }
    }
}
