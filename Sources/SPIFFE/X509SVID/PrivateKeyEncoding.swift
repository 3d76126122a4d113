import Crypto
import SwiftASN1
import X509
import _CryptoExtras

/// Reading and writing private keys as PEM or DER.
public enum PrivateKeyEncoding {
    /// Reads a private key from PEM (`PRIVATE KEY`, `EC PRIVATE KEY` or `RSA PRIVATE KEY`) or
    /// PKCS#8 DER.
    public static func privateKey(from bytes: some Collection<UInt8>) throws(X509SVIDError) -> Certificate.PrivateKey {
        if bytes.isEmpty { throw .privateKey("the key file is empty") }
        if bytes.count > CertificateEncoding.maximumInputSize {
            throw .privateKey("key is \(bytes.count) bytes; the limit is \(CertificateEncoding.maximumInputSize)")
        }
        if CertificateEncoding.looksLikePEM(bytes) {
            do {
                return try Certificate.PrivateKey(pemEncoded: String(decoding: bytes, as: UTF8.self))
            } catch {
                throw .privateKey(String(describing: error))
            }
        }
        let der = Array(bytes)
        if let key = try? P256.Signing.PrivateKey(derRepresentation: der) { return Certificate.PrivateKey(key) }
        if let key = try? P384.Signing.PrivateKey(derRepresentation: der) { return Certificate.PrivateKey(key) }
        if let key = try? P521.Signing.PrivateKey(derRepresentation: der) { return Certificate.PrivateKey(key) }
        if let key = try? _RSA.Signing.PrivateKey(derRepresentation: der) { return Certificate.PrivateKey(key) }
        throw .privateKey("not a PEM or DER EC/RSA private key")
    }

    /// The key as PKCS#8 DER (the Workload API's `x509_svid_key` form).
    public static func pkcs8DER(_ key: Certificate.PrivateKey) throws -> [UInt8] {
        let document = try key.serializeAsPEM()
        if document.discriminator == "RSA PRIVATE KEY" {
            // swift-crypto writes RSA keys as PKCS#1; the Workload API wants PKCS#8.
            return Array(try _RSA.Signing.PrivateKey(derRepresentation: document.derBytes).pkcs8DERRepresentation)
        }
        return document.derBytes
    }

    /// The key as PKCS#8 PEM.
    public static func pkcs8PEM(_ key: Certificate.PrivateKey) throws -> String {
        PEMDocument(type: "PRIVATE KEY", derBytes: try pkcs8DER(key)).pemString + "\n"
    }
}
