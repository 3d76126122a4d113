import Crypto

extension LineageLink {
    /// Lower-case hex SHA-256 of this layer's public key (the SubjectPublicKeyInfo DER the link
    /// carries): how revocation names a layer's key. Nil for a keyless link (a JWT-SVID's own).
    public var publicKeyHash: String? {
        guard !content.publicKey.isEmpty else { return nil }
        return Self.hexSHA256(content.publicKey)
    }

    /// Lower-case hex SHA-256 of `bytes`.
    public static func hexSHA256(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in SHA256.hash(data: Array(bytes)) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
