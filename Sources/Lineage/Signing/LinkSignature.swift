import Crypto
import SPIFFE
import X509
import _CryptoExtras

/// How links are signed: with the parent layer's key, by the algorithm its key type implies
/// (ECDSA with SHA-256/384/512 for P-256/384/521, RSA PKCS#1 v1.5 with SHA-256), so the signature
/// algorithm is never taken from the link itself.
public enum LinkSignature {
    /// Signs `content` with `key` and returns the finished link.
    public static func sign(_ content: LineageLink.Content, with key: Certificate.PrivateKey) throws(LineageError) -> LineageLink {
        guard let algorithm = algorithm(for: key.publicKey) else { throw .signing("unsupported key type for signing links") }
        let bytes = try LineageDER.encode(content)
        do {
            let signature = try key.sign(bytes: bytes, signatureAlgorithm: algorithm)
            return LineageLink(content: content, signature: signature.rawRepresentation)
        } catch {
            throw .signing("\(error)")
        }
    }

    /// Whether `link` was signed by `key`.
    public static func isValid(_ link: LineageLink, signedBy key: Certificate.PublicKey) -> Bool {
        guard let algorithm = algorithm(for: key), let bytes = try? LineageDER.encode(link.content) else { return false }
        return key.isValidSignature(link.signature, for: bytes, signatureAlgorithm: algorithm)
    }

    static func algorithm(for key: Certificate.PublicKey) -> Certificate.SignatureAlgorithm? {
        if P256.Signing.PublicKey(key) != nil { return .ecdsaWithSHA256 }
        if P384.Signing.PublicKey(key) != nil { return .ecdsaWithSHA384 }
        if P521.Signing.PublicKey(key) != nil { return .ecdsaWithSHA512 }
        if _RSA.Signing.PublicKey(key) != nil { return .sha256WithRSAEncryption }
        return nil
    }
}
