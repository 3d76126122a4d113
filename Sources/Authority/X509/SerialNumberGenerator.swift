import SPIFFE
import X509

extension Certificate.SerialNumber {
    /// A random, positive 128-bit serial number (RFC 5280 allows up to 20 octets).
    static func random() -> Certificate.SerialNumber {
        var bytes = SecureRandom.bytes(16)
        bytes[0] &= 0x7F  // positive
        bytes[0] |= 0x40  // no leading zero octet, so the encoding is always 16 bytes
        return Certificate.SerialNumber(bytes: bytes)
    }

}
