/// The TPM key-derivation functions (TPM 2.0 Part 1 §11.4.10).
enum KeyDerivation {
    /// KDFa: SP 800-108 counter mode with HMAC (Part 1 §11.4.10.2).
    ///
    /// Each block is `HMAC_hash(key, counter ‖ label ‖ 0x00 ‖ contextU ‖ contextV ‖ bits)`, the counter
    /// and `bits` 32-bit big-endian; `label` is given without its terminating zero.
    static func kdfA(
        _ hash: HashFunction, key: [UInt8], label: String, contextU: [UInt8], contextV: [UInt8], bits: Int
    ) -> [UInt8] {
        let byteCount = (bits + 7) / 8
        let fixed = Array(label.utf8) + [0] + contextU + contextV + UInt32(bits).bigEndianBytes
        var output: [UInt8] = []
        var counter: UInt32 = 1
        while output.count < byteCount {
            output += hash.hmac(key: key, counter.bigEndianBytes + fixed)
            counter += 1
        }
        return Array(output.prefix(byteCount))
    }

    /// KDFe: the SP 800-56A concatenation KDF (Part 1 §11.4.10.3).
    ///
    /// Each block is `H(counter ‖ Z ‖ label ‖ 0x00 ‖ partyUInfo ‖ partyVInfo)`; `label` is given
    /// without its terminating zero.
    static func kdfE(
        _ hash: HashFunction, z: [UInt8], label: String, partyUInfo: [UInt8], partyVInfo: [UInt8], bits: Int
    ) -> [UInt8] {
        let byteCount = (bits + 7) / 8
        let fixed = Array(label.utf8) + [0] + partyUInfo + partyVInfo
        var output: [UInt8] = []
        var counter: UInt32 = 1
        while output.count < byteCount {
            output += hash.digest(counter.bigEndianBytes + z + fixed)
            counter += 1
        }
        return Array(output.prefix(byteCount))
    }
}
