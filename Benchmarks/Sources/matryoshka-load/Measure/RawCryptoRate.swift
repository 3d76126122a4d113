import Crypto

/// The raw rate of ECDSA P-256 sign+verify on one thread of this machine, now: the denominator of
/// the issuance ratio (an issuance is at least one verify, of the CSR, and one sign, of the
/// certificate).
enum RawCryptoRate {
    /// Sign+verify pairs per second over `duration`.
    static func signVerifyPerSecond(duration: Duration = .seconds(2)) throws -> Double {
        let key = P256.Signing.PrivateKey()
        let publicKey = key.publicKey
        let message = Array(repeating: UInt8(0x5a), count: 512)
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        while clock.now - start < duration {
            for _ in 0..<50 {
                let signature = try key.signature(for: message)
                guard publicKey.isValidSignature(signature, for: message) else { throw LoadError.unexpected("raw P-256 verify failed") }
            }
            count += 50
        }
        return Double(count) / (clock.now - start).seconds
    }
}
