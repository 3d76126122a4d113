import X509

extension Certificate.SerialNumber {
    /// A random, positive 128-bit serial number (RFC 5280 allows up to 20 octets).
    static func random() -> Certificate.SerialNumber {
        // Two draws of 64 bits: on Linux each draw from the system generator is a `getrandom` call,
        // and drawing byte by byte made sixteen per certificate.
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for _ in 0..<2 { withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) } }
        bytes[0] &= 0x7F  // positive
        bytes[0] |= 0x40  // no leading zero octet, so the encoding is always 16 bytes
        return Certificate.SerialNumber(bytes: bytes)
    }

}
