/// RSAES-OAEP encryption (RFC 8017 §7.1.1) with a label, MGF1 with the same hash.
///
/// swift-crypto 4.5.2's `_RSA.Encryption` has OAEP (SHA-1 or SHA-256) but no way to pass a label,
/// and TPM 2.0 secret sharing (Part 1 §11.4.4, Annex B.10.3) needs the label `"IDENTITY\0"`. So the
/// EME-OAEP encoding is done here with swift-crypto's hashes and the raw RSA operation by
/// ``MontgomeryModulus``; a test checks the result decrypts with swift-crypto's own OAEP.
struct OAEPEncoder {
    let hash: HashFunction
    let modulus: MontgomeryModulus
    let exponent: UInt32

    enum Failure: Error {
        case messageTooLong(Int, maximum: Int)
    }

    /// Encrypts `message` under the key with `label`; `seed` (``HashFunction/size`` bytes) is the
    /// OAEP seed and must be fresh randomness except in tests.
    func encrypt(_ message: [UInt8], label: [UInt8], seed: [UInt8]) throws(Failure) -> [UInt8] {
        let k = modulus.byteCount
        let hLen = hash.size
        let maximum = k - 2 * hLen - 2
        guard message.count <= maximum else { throw .messageTooLong(message.count, maximum: maximum) }
        let labelHash = hash.digest(label)
        var dataBlock = labelHash
        dataBlock += [UInt8](repeating: 0, count: k - message.count - 2 * hLen - 2)
        dataBlock.append(0x01)
        dataBlock += message
        let dataBlockMask = mgf1(seed: seed, length: k - hLen - 1)
        let maskedDataBlock = zip(dataBlock, dataBlockMask).map { $0 ^ $1 }
        let seedMask = mgf1(seed: maskedDataBlock, length: hLen)
        let maskedSeed = zip(seed, seedMask).map { $0 ^ $1 }
        let encoded = [0x00] + maskedSeed + maskedDataBlock
        return modulus.power(encoded, exponent: exponent)
    }

    /// MGF1 (RFC 8017 §B.2.1).
    private func mgf1(seed: [UInt8], length: Int) -> [UInt8] {
        var output: [UInt8] = []
        var counter: UInt32 = 0
        while output.count < length {
            output += hash.digest(seed + counter.bigEndianBytes)
            counter += 1
        }
        return Array(output.prefix(length))
    }
}

extension UInt32 {
    var bigEndianBytes: [UInt8] {
        [UInt8(self >> 24), UInt8((self >> 16) & 0xFF), UInt8((self >> 8) & 0xFF), UInt8(self & 0xFF)]
    }
}
