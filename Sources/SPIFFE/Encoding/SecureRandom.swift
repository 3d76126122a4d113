/// Bytes from the system's cryptographically secure random number generator
/// (`SystemRandomNumberGenerator`: `getrandom` on Linux), for serial numbers, keys, nonces and
/// tokens. Drawn 64 bits at a time: each draw is a system call.
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        fill(&bytes)
        return bytes
    }

    /// Overwrites every byte of `bytes` with random ones, in place (for a buffer its owner wipes).
    public static func fill(_ bytes: inout [UInt8]) {
        var generator = SystemRandomNumberGenerator()
        bytes.withUnsafeMutableBytes { buffer in
            for offset in stride(from: 0, to: buffer.count, by: 8) {
                withUnsafeBytes(of: generator.next() as UInt64) { random in
                    for index in 0..<min(8, buffer.count - offset) { buffer[offset + index] = random[index] }
                }
            }
        }
    }
}
