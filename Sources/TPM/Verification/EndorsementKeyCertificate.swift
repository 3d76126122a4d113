/// Helpers for EK certificates as stored in TPM NV indices.
public enum EndorsementKeyCertificate {
    /// The TCG NV index of the RSA 2048 EK certificate (`0x01c00002`).
    public static let rsa2048Index: UInt32 = 0x01C0_0002
    /// The TCG NV index of the ECC NIST P-256 EK certificate (`0x01c0000a`).
    public static let eccP256Index: UInt32 = 0x01C0_000A

    /// The DER certificate at the start of `bytes`, without the padding some TPMs leave after it
    /// in the NV index; `bytes` unchanged if it does not start with a DER SEQUENCE header.
    public static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 2, bytes[0] == 0x30 else { return bytes }
        let first = Int(bytes[1])
        var length = first
        var header = 2
        if first & 0x80 != 0 {
            let count = first & 0x7F
            guard (1...4).contains(count), bytes.count >= 2 + count else { return bytes }
            length = bytes[2..<(2 + count)].reduce(0) { $0 << 8 | Int($1) }
            header = 2 + count
        }
        guard header + length <= bytes.count else { return bytes }
        return Array(bytes.prefix(header + length))
    }
}
