import Testing
@testable import TPM

@Suite("PCR policies")
struct PCRPolicyTests {
    let zero = String(repeating: "0", count: 64)
    let ones = String(repeating: "f", count: 64)

    @Test func acceptsMatchingValuesAndIgnoresUnconstrainedPCRs() throws {
        let policy = try PCRPolicy(expected: [7: zero, 0: ones.uppercased()])
        #expect(policy.indices == [0, 7])
        try policy.check([0: [UInt8](repeating: 0xFF, count: 32), 7: [UInt8](repeating: 0, count: 32), 16: [1]])
    }

    @Test func aMismatchNamesTheIndexTheExpectedAndTheActualValue() throws {
        let policy = try PCRPolicy(expected: [7: zero])
        let got = [UInt8](repeating: 0xAB, count: 32)
        #expect(throws: PCRPolicyError.mismatch(index: 7, expected: zero, got: got.hexString)) {
            try policy.check([7: got])
        }
        let error = PCRPolicyError.mismatch(index: 7, expected: zero, got: got.hexString)
        #expect(error.description == "PCR policy: PCR 7 mismatch: expected sha256:\(zero), got sha256:\(got.hexString)")
        #expect(throws: PCRPolicyError.notQuoted(index: 7)) {
            try policy.check([0: got])
        }
    }

    @Test func refusesInvalidPolicies() {
        #expect(throws: PCRPolicyError.invalidIndex(24)) { try PCRPolicy(expected: [24: zero]) }
        #expect(throws: PCRPolicyError.invalidExpectedValue(index: 1, value: "abc")) { try PCRPolicy(expected: [1: "abc"]) }
        #expect(throws: PCRPolicyError.invalidExpectedValue(index: 1, value: String(repeating: "g", count: 64))) {
            try PCRPolicy(expected: [1: String(repeating: "g", count: 64)])
        }
    }
}
