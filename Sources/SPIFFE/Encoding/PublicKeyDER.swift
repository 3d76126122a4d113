import SwiftASN1
import X509

extension Certificate.PublicKey {
    /// The SubjectPublicKeyInfo, DER-encoded.
    public var spkiDER: [UInt8] {
        var serializer = DER.Serializer()
        // Serializing a parsed or generated key cannot fail.
        try? serializer.serialize(self)
        return serializer.serializedBytes
    }
}
