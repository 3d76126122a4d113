import Crypto
import SwiftASN1
import X509

/// How the agent's quote is bound to the server's nonce and to the agent's SVID key.
public enum QuoteBinding {
    /// The qualifying data (`extraData`) for TPM2_Quote:
    ///
    /// `SHA-256("matryoshka/tpm-quote/v1" ‖ 0x00 ‖ uint32be(len(nonce)) ‖ nonce ‖ subjectPublicKeyInfo)`
    ///
    /// where `subjectPublicKeyInfo` is the DER `SubjectPublicKeyInfo` of the key the agent's SVID
    /// will be issued for. The label separates this use from any other hash of the same inputs;
    /// the length prefix keeps nonce and key apart. 32 bytes fit a `TPM2B_DATA`.
    public static func extraData(nonce: [UInt8], subjectPublicKeyInfo: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array("matryoshka/tpm-quote/v1".utf8) + [0])
        hasher.update(data: UInt32(truncatingIfNeeded: nonce.count).bigEndianBytes)
        hasher.update(data: nonce)
        hasher.update(data: subjectPublicKeyInfo)
        return Array(hasher.finalize())
    }

    /// ``extraData(nonce:subjectPublicKeyInfo:)`` for a swift-certificates public key (e.g. the key
    /// of the agent's CSR), using its full DER `SubjectPublicKeyInfo` (not
    /// `subjectPublicKeyInfoBytes`, which is only the key bits).
    ///
    /// - Throws: ``TPMStructureError`` if the key cannot be DER-encoded.
    public static func extraData(nonce: [UInt8], agentKey: Certificate.PublicKey) throws(TPMStructureError) -> [UInt8] {
        var serializer = DER.Serializer()
        do {
            try serializer.serialize(agentKey)
        } catch {
            throw .invalid(structure: "SubjectPublicKeyInfo", field: "agentKey", reason: "\(error)")
        }
        return extraData(nonce: nonce, subjectPublicKeyInfo: serializer.serializedBytes)
    }
}
