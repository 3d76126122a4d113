import X509

extension Certificate.SerialNumber {
    /// A random, positive 128-bit serial number (RFC 5280 allows up to 20 octets).
    static func random() -> Certificate.SerialNumber {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        bytes[0] &= 0x7F  // positive
        bytes[0] |= 0x40  // no leading zero octet, so the encoding is always 16 bytes
        return Certificate.SerialNumber(bytes: bytes)
    }

}
