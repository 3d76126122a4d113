import Crypto
import Foundation
import _CryptoExtras

/// The server side of TPM 2.0 credential activation, in software (no TPM, no libtss2).
///
/// ``makeCredential(ekPublic:objectName:secret:)`` does what TPM2_MakeCredential does
/// (TPM 2.0 Part 1 §24, Part 3 §12.6): the TPM holding the EK releases `secret` from the result
/// through TPM2_ActivateCredential only if an object with exactly `objectName` is loaded in it.
/// With the AK's name, a returned secret proves the AK lives in the same TPM as the EK.
public enum CredentialActivation {
    /// Protects `secret` for the object named `objectName`, under `endorsementKey`.
    ///
    /// Steps (Part 1 §24.4–24.5, §11.4.10):
    /// 1. A seed: RSA EK — `nameAlg`-sized random bytes, RSA-OAEP encrypted with the EK's
    ///    `nameAlg` and the label `"IDENTITY\0"`; ECC EK — an ephemeral ECDH key,
    ///    seed = KDFe(nameAlg, Z, `"IDENTITY"`, ephemeral.x, EK.x).
    /// 2. symKey = KDFa(nameAlg, seed, `"STORAGE"`, objectName, ∅, EK symmetric key bits);
    ///    encIdentity = AES-CFB(symKey, IV = 0, marshalled `TPM2B_DIGEST` secret).
    /// 3. hmacKey = KDFa(nameAlg, seed, `"INTEGRITY"`, ∅, ∅, digest bits);
    ///    integrityHMAC = HMAC(hmacKey, encIdentity ‖ objectName).
    ///
    /// - Parameters:
    ///   - ekPublic: the EK public area: a restricted decryption key with an AES-CFB
    ///     symmetric definition, RSA or ECC (P-256, P-384, P-521), as every TCG EK template is.
    ///   - objectName: the TPM name of the AK (``TPMPublicArea/name``).
    ///   - secret: 1 to digest-size bytes (32 for a SHA-256 EK); keep it to compare with what the
    ///     agent returns.
    /// - Throws: ``CredentialError``.
    public static func makeCredential(
        ekPublic endorsementKey: TPMPublicArea, objectName: [UInt8], secret: [UInt8]
    ) throws(CredentialError) -> CredentialChallenge {
        let hash = try checkEndorsementKey(endorsementKey)
        try checkObjectName(objectName)
        guard !secret.isEmpty, secret.count <= hash.size else {
            throw .invalidSecret(reason: "\(secret.count) bytes; must be 1...\(hash.size) for a \(endorsementKey.nameAlgorithm) EK")
        }
        let (seed, encryptedSecret) = try makeSeed(endorsementKey, hash: hash)
        let keyBits = Int(endorsementKey.symmetric?.keyBits ?? 128)

        let symmetricKey = KeyDerivation.kdfA(hash, key: seed, label: "STORAGE", contextU: objectName, contextV: [], bits: keyBits)
        var plaintext = TPMWriter()
        plaintext.sized(secret)
        let encryptedIdentity: [UInt8]
        do {
            let iv = try AES._CFB.IV(ivBytes: [UInt8](repeating: 0, count: 16))
            encryptedIdentity = Array(try AES._CFB.encrypt(plaintext.bytes, using: SymmetricKey(data: symmetricKey), iv: iv))
        } catch {
            throw .cryptographicFailure(reason: "AES-CFB encryption failed: \(error)")
        }
        let hmacKey = KeyDerivation.kdfA(hash, key: seed, label: "INTEGRITY", contextU: [], contextV: [], bits: hash.size * 8)
        let integrity = hash.hmac(key: hmacKey, encryptedIdentity + objectName)

        var idObject = TPMWriter()
        idObject.sized(integrity)
        idObject.raw(encryptedIdentity)
        var blob = TPMWriter()
        blob.sized(idObject.bytes)
        var secretWriter = TPMWriter()
        secretWriter.sized(encryptedSecret)
        return CredentialChallenge(credentialBlob: blob.bytes, encryptedSecret: secretWriter.bytes)
    }

    private static func checkEndorsementKey(_ key: TPMPublicArea) throws(CredentialError) -> HashFunction {
        guard let hash = HashFunction(key.nameAlgorithm) else {
            throw .unsupportedEndorsementKey(reason: "name algorithm \(key.nameAlgorithm)")
        }
        guard key.attributes.contains([.restricted, .decrypt]) else {
            throw .unsupportedEndorsementKey(reason: "not a restricted decryption key (attributes \(key.attributes))")
        }
        guard let symmetric = key.symmetric, symmetric.algorithm == .aes, symmetric.mode == .cfb,
              [128, 192, 256].contains(symmetric.keyBits)
        else {
            throw .unsupportedEndorsementKey(reason: "symmetric definition must be AES-CFB, is \(String(describing: key.symmetric))")
        }
        return hash
    }

    private static func checkObjectName(_ name: [UInt8]) throws(CredentialError) {
        guard name.count >= 2 else {
            throw .invalidObjectName(reason: "\(name.count) bytes")
        }
        let algorithm = TPMAlgorithm(rawValue: UInt16(name[0]) << 8 | UInt16(name[1]))
        guard let hash = HashFunction(algorithm) else {
            throw .invalidObjectName(reason: "unsupported name algorithm \(algorithm)")
        }
        guard name.count == 2 + hash.size else {
            throw .invalidObjectName(reason: "\(name.count - 2)-byte digest for \(algorithm), expected \(hash.size)")
        }
    }

    /// Returns the seed and the bytes of the `TPM2B_ENCRYPTED_SECRET` (without its size).
    private static func makeSeed(_ key: TPMPublicArea, hash: HashFunction) throws(CredentialError) -> ([UInt8], [UInt8]) {
        switch key.parameters {
        case .rsa(let rsa):
            guard let modulus = MontgomeryModulus(modulus: rsa.modulus) else {
                throw .unsupportedEndorsementKey(reason: "RSA modulus missing or even")
            }
            let seed = randomBytes(hash.size)
            let encoder = OAEPEncoder(hash: hash, modulus: modulus, exponent: rsa.effectiveExponent)
            do {
                return (seed, try encoder.encrypt(seed, label: Array("IDENTITY".utf8) + [0], seed: randomBytes(hash.size)))
            } catch {
                throw .cryptographicFailure(reason: "RSA-OAEP: \(error)")
            }
        case .ecc(let ecc):
            guard let size = ecc.curve.coordinateSize else {
                throw .unsupportedEndorsementKey(reason: "curve \(ecc.curve)")
            }
            let point = TPMPublicArea.leftPadded(ecc.x, to: size) + TPMPublicArea.leftPadded(ecc.y, to: size)
            let z: [UInt8]
            let ephemeral: [UInt8]
            do {
                switch ecc.curve {
                case .nistP256:
                    let privateKey = P256.KeyAgreement.PrivateKey()
                    let shared = try privateKey.sharedSecretFromKeyAgreement(with: P256.KeyAgreement.PublicKey(rawRepresentation: point))
                    z = shared.withUnsafeBytes { Array($0) }
                    ephemeral = Array(privateKey.publicKey.rawRepresentation)
                case .nistP384:
                    let privateKey = P384.KeyAgreement.PrivateKey()
                    let shared = try privateKey.sharedSecretFromKeyAgreement(with: P384.KeyAgreement.PublicKey(rawRepresentation: point))
                    z = shared.withUnsafeBytes { Array($0) }
                    ephemeral = Array(privateKey.publicKey.rawRepresentation)
                default:
                    let privateKey = P521.KeyAgreement.PrivateKey()
                    let shared = try privateKey.sharedSecretFromKeyAgreement(with: P521.KeyAgreement.PublicKey(rawRepresentation: point))
                    z = shared.withUnsafeBytes { Array($0) }
                    ephemeral = Array(privateKey.publicKey.rawRepresentation)
                }
            } catch {
                throw .unsupportedEndorsementKey(reason: "ECDH with the EK point failed: \(error)")
            }
            let ephemeralX = Array(ephemeral.prefix(size))
            let ephemeralY = Array(ephemeral.suffix(size))
            let seed = KeyDerivation.kdfE(hash, z: z, label: "IDENTITY", partyUInfo: ephemeralX, partyVInfo: ecc.x, bits: hash.size * 8)
            var writer = TPMWriter()
            writer.sized(ephemeralX)
            writer.sized(ephemeralY)
            return (seed, writer.bytes)
        }
    }
}
