import SPIFFE
import Testing

@Suite("Secure random bytes")
struct SecureRandomTests {
    @Test("every length is filled, whole 64-bit draws or not", arguments: [0, 1, 7, 8, 9, 16, 33])
    func lengths(count: Int) {
        #expect(SecureRandom.bytes(count).count == count)
        // Every position gets random bytes, the tail of a partial draw included: over 64 draws a
        // position stuck at 0 would show (the chance that a random byte is 0 every time is 2^-512).
        guard count > 0 else { return }
        var seen = [Bool](repeating: false, count: count)
        for _ in 0..<64 {
            for (index, byte) in SecureRandom.bytes(count).enumerated() where byte != 0 { seen[index] = true }
        }
        #expect(seen.allSatisfy { $0 })
    }

    @Test func fillOverwritesInPlaceAndDrawsAreDistinct() {
        var buffer = [UInt8](repeating: 0, count: 32)
        SecureRandom.fill(&buffer)
        #expect(buffer.count == 32 && buffer != [UInt8](repeating: 0, count: 32))
        #expect(Set((0..<100).map { _ in SecureRandom.bytes(16) }).count == 100)
    }
}
