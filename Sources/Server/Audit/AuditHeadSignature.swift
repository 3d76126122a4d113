import Authority
import Crypto
import SPIFFE
import X509
import _CryptoExtras

/// Signing and checking ``SignedAuditHead``s with a CA key: the signature algorithm follows the
/// key type (never taken from the stored head).
public enum AuditHeadSignature {
    /// A signer for the CA's key, storing its certificate with each head.
    public static func signer(for ca: CertificateAuthority) throws(ServerError) -> AuditHeadSigner {
        let key = ca.key.certificatePrivateKey
        guard let algorithm = algorithm(for: key.publicKey) else { throw ServerError("the CA's key type cannot sign audit heads") }
        return AuditHeadSigner(
            certificateDER: CertificateEncoding.der(ca.certificate), keyID: SHA256Hex.hex(ca.keyIdentifier)
        ) { bytes in
            try key.sign(bytes: bytes, signatureAlgorithm: algorithm).rawRepresentation
        }
    }

    /// Whether `head`'s signature verifies with the key of the certificate stored in it; returns
    /// that certificate when it does.
    public static func verifiedSigner(of head: SignedAuditHead) -> Certificate? {
        guard let certificate = try? Certificate(derEncoded: head.certificateDER),
              let algorithm = algorithm(for: certificate.publicKey),
              certificate.publicKey.isValidSignature(head.signature, for: head.signedBytes, signatureAlgorithm: algorithm)
        else { return nil }
        return certificate
    }

    static func algorithm(for key: Certificate.PublicKey) -> Certificate.SignatureAlgorithm? {
        if P256.Signing.PublicKey(key) != nil { return .ecdsaWithSHA256 }
        if P384.Signing.PublicKey(key) != nil { return .ecdsaWithSHA384 }
        if _RSA.Signing.PublicKey(key) != nil { return .sha256WithRSAEncryption }
        return nil
    }
}
