/// Modular exponentiation for the RSA public-key operation, in Montgomery form over 64-bit limbs.
///
/// swift-crypto exposes RSA-OAEP only with an empty label, and MakeCredential needs the label
/// `"IDENTITY\0"`, so the server pads with OAEP itself (``OAEPEncoder``) and needs the raw
/// operation `m^e mod n`. That is all this type does. The exponent and modulus are public; the
/// message is secret, and every operation on it runs the same instruction sequence for any value
/// of the same length (the final conditional subtraction is done with masks).
struct MontgomeryModulus {
    /// The modulus, little-endian limbs.
    private let n: [UInt64]
    /// `-n^-1 mod 2^64`.
    private let n0Inverse: UInt64
    /// `R^2 mod n`, `R = 2^(64·limbCount)`.
    private let rSquared: [UInt64]
    /// The modulus length in bytes (big-endian input and output width).
    let byteCount: Int

    /// `modulus` is big-endian; it must be odd and at least 2 bytes.
    init?(modulus: [UInt8]) {
        let trimmed = Array(modulus.drop { $0 == 0 })
        guard trimmed.count >= 2, let last = trimmed.last, last & 1 == 1 else { return nil }
        byteCount = trimmed.count
        n = Self.limbs(fromBigEndian: trimmed, limbCount: (trimmed.count + 7) / 8)
        // Newton iteration for the inverse of n[0] modulo 2^64: each step doubles the correct bits.
        var inverse: UInt64 = n[0]
        for _ in 0..<6 {
            inverse = inverse &* (2 &- n[0] &* inverse)
        }
        n0Inverse = 0 &- inverse
        // R^2 mod n by doubling 1 modulo n, 2·64·k times.
        var value = [UInt64](repeating: 0, count: n.count)
        value[0] = 1
        for _ in 0..<(2 * 64 * n.count) {
            value = Self.doubleModulo(value, n)
        }
        rSquared = value
    }

    /// `base^exponent mod n`; `base` is big-endian and must be numerically below the modulus.
    /// The result is big-endian, ``byteCount`` bytes.
    func power(_ base: [UInt8], exponent: UInt32) -> [UInt8] {
        let k = n.count
        let m = Self.limbs(fromBigEndian: base, limbCount: k)
        var one = [UInt64](repeating: 0, count: k)
        one[0] = 1
        let mMont = multiply(m, rSquared)
        var accumulator = multiply(one, rSquared)  // R mod n, i.e. 1 in Montgomery form
        let bits = 32 - exponent.leadingZeroBitCount
        for bit in stride(from: bits - 1, through: 0, by: -1) {
            accumulator = multiply(accumulator, accumulator)
            if exponent & (1 << UInt32(bit)) != 0 {
                accumulator = multiply(accumulator, mMont)
            }
        }
        let result = multiply(accumulator, one)
        return Self.bigEndian(result, byteCount: byteCount)
    }

    /// Montgomery product `a·b·R^-1 mod n` (CIOS), for `a, b < n`.
    private func multiply(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        let k = n.count
        var t = [UInt64](repeating: 0, count: k + 2)
        for i in 0..<k {
            var carry: UInt64 = 0
            for j in 0..<k {
                let (high, low) = a[j].multipliedFullWidth(by: b[i])
                let (sum1, overflow1) = t[j].addingReportingOverflow(low)
                let (sum2, overflow2) = sum1.addingReportingOverflow(carry)
                t[j] = sum2
                carry = high &+ (overflow1 ? 1 : 0) &+ (overflow2 ? 1 : 0)
            }
            let (top, topOverflow) = t[k].addingReportingOverflow(carry)
            t[k] = top
            t[k + 1] = topOverflow ? 1 : 0

            let factor = t[0] &* n0Inverse
            let (high0, low0) = factor.multipliedFullWidth(by: n[0])
            let (_, overflow0) = t[0].addingReportingOverflow(low0)
            carry = high0 &+ (overflow0 ? 1 : 0)
            for j in 1..<k {
                let (high, low) = factor.multipliedFullWidth(by: n[j])
                let (sum1, overflow1) = t[j].addingReportingOverflow(low)
                let (sum2, overflow2) = sum1.addingReportingOverflow(carry)
                t[j - 1] = sum2
                carry = high &+ (overflow1 ? 1 : 0) &+ (overflow2 ? 1 : 0)
            }
            let (shifted, shiftedOverflow) = t[k].addingReportingOverflow(carry)
            t[k - 1] = shifted
            t[k] = t[k + 1] &+ (shiftedOverflow ? 1 : 0)
            t[k + 1] = 0
        }
        return Self.conditionalSubtract(Array(t[0...k]), n)
    }

    /// `value - modulus` if `value >= modulus`, else `value`; `value` has one more limb than `modulus`.
    /// Branch-free on the values: both results are computed and one is chosen with a mask.
    private static func conditionalSubtract(_ value: [UInt64], _ modulus: [UInt64]) -> [UInt64] {
        let k = modulus.count
        var difference = [UInt64](repeating: 0, count: k)
        var borrow: UInt64 = 0
        for j in 0..<k {
            let (d1, b1) = value[j].subtractingReportingOverflow(modulus[j])
            let (d2, b2) = d1.subtractingReportingOverflow(borrow)
            difference[j] = d2
            borrow = (b1 ? 1 : 0) | (b2 ? 1 : 0)
        }
        let (_, finalBorrow) = value[k].subtractingReportingOverflow(borrow)
        // keepValue is all ones when value < modulus (the subtraction borrowed out of the top limb).
        let keepValue: UInt64 = 0 &- (finalBorrow ? 1 : 0)
        var result = [UInt64](repeating: 0, count: k)
        for j in 0..<k {
            result[j] = (value[j] & keepValue) | (difference[j] & ~keepValue)
        }
        return result
    }

    /// `2·value mod modulus` for `value < modulus`.
    private static func doubleModulo(_ value: [UInt64], _ modulus: [UInt64]) -> [UInt64] {
        var doubled = [UInt64](repeating: 0, count: value.count + 1)
        var carry: UInt64 = 0
        for j in 0..<value.count {
            doubled[j] = value[j] << 1 | carry
            carry = value[j] >> 63
        }
        doubled[value.count] = carry
        return conditionalSubtract(doubled, modulus)
    }

    private static func limbs(fromBigEndian bytes: [UInt8], limbCount: Int) -> [UInt64] {
        var limbs = [UInt64](repeating: 0, count: limbCount)
        for (index, byte) in bytes.reversed().enumerated() where index / 8 < limbCount {
            limbs[index / 8] |= UInt64(byte) << UInt64(8 * (index % 8))
        }
        return limbs
    }

    private static func bigEndian(_ limbs: [UInt64], byteCount: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: byteCount)
        for index in 0..<byteCount {
            bytes[byteCount - 1 - index] = UInt8(truncatingIfNeeded: limbs[index / 8] >> UInt64(8 * (index % 8)))
        }
        return bytes
    }
}
