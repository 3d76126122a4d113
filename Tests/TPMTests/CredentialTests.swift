import Crypto
import Foundation
import Testing
import _CryptoExtras
@testable import TPM

@Suite("MakeCredential in software")
struct CredentialTests {
    @Test func montgomeryExponentiationMatchesASmallKnownAnswer() throws {
        // Textbook RSA: n = 61 · 53 = 3233, e = 17, 65^17 mod 3233 = 2790.
        let modulus = try #require(MontgomeryModulus(modulus: [0x0C, 0xA1]))
        #expect(modulus.power([65], exponent: 17) == [0x0A, 0xE6])
        #expect(MontgomeryModulus(modulus: [0x0C, 0xA0]) == nil)  // even
    }

    @Test func oaepWithAnEmptyLabelDecryptsWithSwiftCrypto() throws {
        let key = try _RSA.Encryption.PrivateKey(keySize: .bits2048)
        let primitives = try key.publicKey.getKeyPrimitives()
        let modulus = try #require(MontgomeryModulus(modulus: Array(primitives.modulus)))
        let encoder = OAEPEncoder(hash: .sha256, modulus: modulus, exponent: 65537)
        for _ in 0..<3 {
            let message = randomBytes(32)
            let ciphertext = try encoder.encrypt(message, label: [], seed: randomBytes(32))
            #expect(ciphertext.count == 256)
            #expect(Array(try key.decrypt(ciphertext, padding: .PKCS1_OAEP_SHA256)) == message)
        }
        #expect(throws: OAEPEncoder.Failure.self) {
            try encoder.encrypt([UInt8](repeating: 0, count: 191), label: [], seed: randomBytes(32))
        }
    }

    @Test func credentialLayoutIsWhatActivateCredentialExpects() throws {
        let ek = try TPMPublicArea(marshalled: Fixtures.rsaPublic(
            attributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .adminWithPolicy, .restricted, .decrypt],
            symmetric: TPMSymmetricDefinition(algorithm: .aes, keyBits: 128, mode: .cfb), scheme: nil,
            modulus: try Fixtures.modulus(of: _RSA.Signing.PrivateKey(keySize: .bits2048))))
        let name = [0x00, 0x0B] + randomBytes(32)
        let challenge = try CredentialActivation.makeCredential(ekPublic: ek, objectName: name, secret: randomBytes(32))
        // TPM2B_ID_OBJECT: size ‖ TPM2B_DIGEST(32-byte HMAC) ‖ encrypted (2 + 32) bytes.
        #expect(challenge.credentialBlob.count == 2 + 2 + 32 + 2 + 32)
        #expect(challenge.credentialBlob.prefix(4) == [0x00, 68, 0x00, 32])
        // TPM2B_ENCRYPTED_SECRET: size ‖ 256-byte OAEP ciphertext.
        #expect(challenge.encryptedSecret.prefix(2) == [0x01, 0x00])
        #expect(challenge.encryptedSecret.count == 2 + 256)
    }

    @Test func refusesKeysThatAreNotEndorsementKeysAndBadInputs() throws {
        let signingKey = try TPMPublicArea(marshalled: Fixtures.rsaPublic(modulus: try Fixtures.modulus(of: _RSA.Signing.PrivateKey(keySize: .bits2048))))
        let name = [0x00, 0x0B] + randomBytes(32)
        #expect(throws: CredentialError.self) {
            try CredentialActivation.makeCredential(ekPublic: signingKey, objectName: name, secret: [1])
        }
        let ek = try TPMPublicArea(marshalled: Fixtures.eccPublic(
            attributes: [.fixedTPM, .fixedParent, .restricted, .decrypt],
            symmetric: TPMSymmetricDefinition(algorithm: .aes, keyBits: 128, mode: .cfb), scheme: nil,
            point: Array(P256.KeyAgreement.PrivateKey().publicKey.rawRepresentation)))
        #expect(throws: CredentialError.invalidObjectName(reason: "unsupported name algorithm TPM_ALG_NULL")) {
            try CredentialActivation.makeCredential(ekPublic: ek, objectName: [0x00, 0x10], secret: [1])
        }
        #expect(throws: CredentialError.invalidObjectName(reason: "31-byte digest for TPM_ALG_SHA256, expected 32")) {
            try CredentialActivation.makeCredential(ekPublic: ek, objectName: Array(name.dropLast()), secret: [1])
        }
        #expect(throws: CredentialError.self) {
            try CredentialActivation.makeCredential(ekPublic: ek, objectName: name, secret: randomBytes(33))
        }
        #expect(throws: CredentialError.self) {
            try CredentialActivation.makeCredential(ekPublic: ek, objectName: name, secret: [])
        }
        // The ECC path produces a TPMS_ECC_POINT as the encrypted secret.
        let challenge = try CredentialActivation.makeCredential(ekPublic: ek, objectName: name, secret: [1, 2, 3])
        #expect(challenge.encryptedSecret.prefix(4) == [0x00, 68, 0x00, 32])
    }
}
